"""Settings, %expressions%, connections and host.json behave as the Functions host's."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from pathlib import Path

import pytest

from devhost.errors import (
    ConnectionNotFoundError,
    HostJsonError,
    RealAzureNotSupportedError,
    UnresolvedSettingError,
)
from devhost.hostjson import load_host_json, parse_host_json
from devhost.settings import ConnectionKind, ConnectionResolver, load_app_settings, resolve_binding

SB_EMULATOR = (
    "Endpoint=sb://localhost;SharedAccessKeyName=RootManageSharedAccessKey;"
    "SharedAccessKey=SAS_KEY_VALUE;UseDevelopmentEmulator=true;"
)


def write_settings(folder: Path, values: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "local.settings.json").write_text(json.dumps({"IsEncrypted": False, "Values": values}))
    return folder


def test_the_environment_wins_over_local_settings_values(tmp_path: Path) -> None:
    name = f"SETTING_{uuid.uuid4().hex[:6]}"
    app = write_settings(tmp_path, {name: "from-file", "ONLY_IN_FILE": "file"})
    settings = load_app_settings(app, environ={name: "from-env"})
    assert settings.get(name) == "from-env"
    assert settings.get("ONLY_IN_FILE") == "file"
    assert settings.overridden_by_environment == (name,)


def test_an_empty_environment_value_does_not_hide_local_settings(tmp_path: Path) -> None:
    app = write_settings(tmp_path, {"QUEUE": "orders"})
    assert load_app_settings(app, environ={"QUEUE": ""}).get("QUEUE") == "orders"


def test_percent_expressions_resolve_from_settings(tmp_path: Path) -> None:
    settings = load_app_settings(write_settings(tmp_path, {"QUEUE": "orders-in"}), environ={})
    binding = {"queueName": "%QUEUE%", "connection": "SB", "name": "msg"}
    assert resolve_binding(binding, settings, "listen")["queueName"] == "orders-in"


def test_an_unresolved_expression_names_function_binding_setting_and_missing_setting(tmp_path: Path) -> None:
    settings = load_app_settings(write_settings(tmp_path, {}), environ={})
    with pytest.raises(UnresolvedSettingError) as caught:
        resolve_binding({"topicName": "%ORDERS_TOPIC%"}, settings, "project_orders")
    message = str(caught.value)
    assert "project_orders" in message and "topicName" in message and "ORDERS_TOPIC" in message


@pytest.mark.parametrize(
    ("value", "kind", "service"),
    [
        ("UseDevelopmentStorage=true", ConnectionKind.EMBEDDED, "storage"),
        (SB_EMULATOR, ConnectionKind.EMBEDDED, "servicebus"),
        (
            "AccountEndpoint=https://localhost:8081/;AccountKey=C2y6yDjf5/R+ob0N8A7Cgv30VRDJIWEHLM+4QDU5DE2nQ9nDuVTqobD4b8mGGyPMbIZnqyMsEcaGQy67XIw/Jw==",
            ConnectionKind.EMBEDDED,
            "cosmos",
        ),
        (
            "Endpoint=sb://nightshift.servicebus.windows.net/;SharedAccessKeyName=x;SharedAccessKey=y",
            ConnectionKind.AZURE,
            "servicebus",
        ),
        (
            "AccountEndpoint=https://nightshift.documents.azure.com:443/;AccountKey=x",
            ConnectionKind.AZURE,
            "cosmos",
        ),
    ],
)
def test_connection_strings_are_classified(
    tmp_path: Path, value: str, kind: ConnectionKind, service: str
) -> None:
    resolver = ConnectionResolver(load_app_settings(write_settings(tmp_path, {"Conn": value}), environ={}))
    info = resolver.resolve("Conn")
    assert (info.kind, info.service) == (kind, service)


def test_an_identity_based_connection_points_at_azure_and_is_refused(tmp_path: Path) -> None:
    settings = load_app_settings(
        write_settings(
            tmp_path, {"ServiceBus__fullyQualifiedNamespace": "nightshift.servicebus.windows.net"}
        ),
        environ={},
    )
    resolver = ConnectionResolver(settings)
    assert resolver.resolve("ServiceBus").kind is ConnectionKind.AZURE
    with pytest.raises(RealAzureNotSupportedError, match="real Azure"):
        resolver.require_embedded("ServiceBus", "listen")


def test_an_empty_connection_means_azure_web_jobs_storage(tmp_path: Path) -> None:
    resolver = ConnectionResolver(
        load_app_settings(
            write_settings(tmp_path, {"AzureWebJobsStorage": "UseDevelopmentStorage=true"}), environ={}
        )
    )
    assert resolver.require_embedded("", "blob_fn").setting == "AzureWebJobsStorage"


def test_a_missing_connection_is_a_clear_error(tmp_path: Path) -> None:
    resolver = ConnectionResolver(load_app_settings(write_settings(tmp_path, {}), environ={}))
    with pytest.raises(ConnectionNotFoundError, match="'Nowhere'"):
        resolver.resolve("Nowhere")


def test_host_json_defaults_match_azure(tmp_path: Path) -> None:
    config = load_host_json(tmp_path)
    assert config.route_prefix == "api"
    assert config.function_timeout == timedelta(minutes=30)
    assert config.service_bus.max_auto_lock_renewal_duration == timedelta(minutes=5)
    assert config.service_bus.max_message_batch_size == 1000
    assert config.service_bus.max_concurrent_calls % 16 == 0
    assert config.event_hubs.max_event_batch_size == 100
    assert config.event_hubs.batch_checkpoint_frequency == 1
    assert config.event_hubs.initial_offset_options.type == "fromStart"
    assert config.blobs.max_degree_of_parallelism % 8 == 0


def test_host_json_values_are_read_case_insensitively() -> None:
    config = parse_host_json(
        {
            "version": "2.0",
            "functionTimeout": "-1",
            "extensions": {
                "HTTP": {"routePrefix": ""},
                "serviceBus": {"maxConcurrentCalls": 4, "maxAutoLockRenewalDuration": "00:10:00"},
                "eventHubs": {"maxEventBatchSize": 10, "initialOffsetOptions": {"type": "fromEnd"}},
            },
            "logging": {"logLevel": {"default": "Warning", "Function.tick": "Debug"}},
        }
    )
    assert config.route_prefix == ""
    assert config.function_timeout is None
    assert config.service_bus.max_concurrent_calls == 4
    assert config.service_bus.max_auto_lock_renewal_duration == timedelta(minutes=10)
    assert config.event_hubs.max_event_batch_size == 10
    assert config.event_hubs.initial_offset_options.type == "fromEnd"
    assert config.log_level("Function.tick") == "Debug"
    assert config.log_level("Host.Results") == "Warning"


def test_a_malformed_host_json_value_is_named() -> None:
    with pytest.raises(HostJsonError, match="maxConcurrentCalls"):
        parse_host_json({"extensions": {"serviceBus": {"maxConcurrentCalls": "many"}}})
    with pytest.raises(HostJsonError, match="functionTimeout"):
        parse_host_json({"functionTimeout": "ten minutes"})
