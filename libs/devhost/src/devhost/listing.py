"""The function listing printed by ``devhost run`` and ``devhost functions``, shaped like ``func start``."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def format_listing(app_name: str, base_url: str, functions: Iterable[dict[str, Any]]) -> str:
    """Render one app's functions::

    Functions in hello (http://localhost:7071):

            hello: [GET] http://localhost:7071/api/hello/{name}

            tick: timerTrigger (0 */5 * * * *)
    """
    lines = [f"Functions in {app_name} ({base_url}):", ""]
    for function in functions:
        name = function["name"]
        state = function.get("state", "ready")
        if function["trigger"] == "httpTrigger" and function.get("route") is not None:
            methods = function.get("methods") or []
            methods_text = f"[{','.join(methods)}] " if methods else ""
            line = f"        {name}: {methods_text}{base_url}{function['route']}"
        else:
            detail = f" ({function['detail']})" if function.get("detail") else ""
            line = f"        {name}: {function['trigger']}{detail}"
        if state == "disabled":
            line += "  [disabled]"
        elif state == "unsupported":
            line += "  WARNING: not supported by devhost yet"
        elif state == "error":
            line += f"\n        ERROR: {function.get('message', '')}"
        lines.extend([line, ""])
    return "\n".join(lines)
