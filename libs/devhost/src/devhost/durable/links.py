"""The URLs of the Durable HTTP management API and the ``durableClient`` binding payload.

Shapes are the Durable Task extension's (``HttpApiHandler.GetClientResponseLinks`` /
``GetInstanceCreationLinks``): webhooks under ``{origin}/runtime/webhooks/durabletask``, every
management URL carrying ``taskHub``, ``connection`` and the extension's system key as ``code``.
The SDK's ``DurableOrchestrationClient`` sends its own calls to ``rpcBaseUrl``; on Azure that is
an unauthenticated loopback listener, under devhost it is the same webhook path with the system
key as HTTP basic-auth credentials in the URL (aiohttp sends them), so no call goes unchecked.
"""

from __future__ import annotations

import json
import re
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

WEBHOOK_PATH = "/runtime/webhooks/durabletask"
SYSTEM_KEY_NAME = "durabletask_extension"
DEFAULT_CONNECTION = "Storage"
_HUB_NAME = re.compile(r"[^A-Za-z0-9]")


def task_hub_name(host_json: dict[str, Any], app_name: str) -> str:
    """``extensions.durableTask.hubName`` from host.json, else the app name (letters and digits)."""
    extensions = {str(k).lower(): v for k, v in (host_json.get("extensions") or {}).items()}
    durable = {str(k).lower(): v for k, v in (extensions.get("durabletask") or {}).items()}
    configured = durable.get("hubname")
    if isinstance(configured, str) and configured:
        return configured
    return _HUB_NAME.sub("", app_name) or "TestHubName"


def load_or_create_system_key(path: Path) -> str:
    """The extension's system key kept in ``path`` (created on first use, mode 0600)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        key = data.get(SYSTEM_KEY_NAME)
        if isinstance(key, str) and key:
            return key
    except (OSError, ValueError, AttributeError):
        pass
    key = secrets.token_urlsafe(40).replace("-", "a").replace("_", "b")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({SYSTEM_KEY_NAME: key}), encoding="utf-8")
    path.chmod(0o600)
    return key


@dataclass(frozen=True)
class ManagementLinks:
    """Builds the URLs of one app's management API; ``system_key`` None means no key (--no-auth)."""

    origin: str
    """``http://localhost:7071`` (scheme, host and port, no path)."""
    rpc_origin: str
    """Where the SDK client's own calls go (``http://127.0.0.1:7071``: loopback, as Azure's)."""
    hub: str
    system_key: str | None
    connection: str = DEFAULT_CONNECTION

    @property
    def base_url(self) -> str:
        return f"{self.origin}{WEBHOOK_PATH}"

    @property
    def key_query(self) -> str:
        return f"code={self.system_key}" if self.system_key else ""

    def _suffix(self) -> str:
        suffix = f"taskHub={quote(self.hub, safe='')}&connection={quote(self.connection, safe='')}"
        return f"{suffix}&{self.key_query}" if self.key_query else suffix

    def management_urls(self, instance_id: str, origin: str | None = None) -> dict[str, str]:
        """The HttpManagementPayload (``id``, ``statusQueryGetUri``, ...) of one instance."""
        base = f"{origin or self.origin}{WEBHOOK_PATH}/instances/{quote(instance_id, safe='')}"
        suffix = self._suffix()
        return {
            "id": instance_id,
            "statusQueryGetUri": f"{base}?{suffix}",
            "sendEventPostUri": f"{base}/raiseEvent/{{eventName}}?{suffix}",
            "terminatePostUri": f"{base}/terminate?reason={{text}}&{suffix}",
            "rewindPostUri": f"{base}/rewind?reason={{text}}&{suffix}",
            "purgeHistoryDeleteUri": f"{base}?{suffix}",
            "restartPostUri": f"{base}/restart?{suffix}",
            "suspendPostUri": f"{base}/suspend?reason={{text}}&{suffix}",
            "resumePostUri": f"{base}/resume?reason={{text}}&{suffix}",
        }

    def check_status_payload(self, instance_id: str, origin: str | None = None) -> dict[str, str]:
        """The body of a 202 check-status response (no rewind URL, as the extension's)."""
        urls = self.management_urls(instance_id, origin)
        urls.pop("rewindPostUri")
        return urls

    @property
    def rpc_base_url(self) -> str:
        """Where the SDK client sends its calls (trailing slash, as the SDK appends paths)."""
        scheme, _, rest = self.rpc_origin.partition("://")
        if self.system_key:
            rest = f"{SYSTEM_KEY_NAME}:{self.system_key}@{rest}"
        return f"{scheme}://{rest}{WEBHOOK_PATH}/"

    def client_binding(self) -> str:
        """The JSON a ``durableClient`` input binding receives (DurableOrchestrationBindings)."""
        query = self.key_query
        creation = f"{self.base_url}/orchestrators/{{functionName}}[/{{instanceId}}]"
        return json.dumps(
            {
                "taskHubName": self.hub,
                "creationUrls": {
                    "createNewInstancePostUri": f"{creation}?{query}",
                    "createAndWaitOnNewInstancePostUri": (
                        f"{creation}?timeout={{timeoutInSeconds}}&pollingInterval={{intervalInSeconds}}&{query}"
                    ),
                },
                "managementUrls": self.management_urls("INSTANCEID"),
                "baseUrl": self.base_url,
                "requiredQueryStringParameters": query,
                "rpcBaseUrl": self.rpc_base_url,
                "httpBaseUrl": "",
                "maxGrpcMessageSizeInBytes": 0,
                "grpcHttpClientTimeout": "00:01:40",
            }
        )
