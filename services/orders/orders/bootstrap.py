"""Builds the orders service's ports from settings, once per process.

Settings (app settings in Azure, `local.settings.json` locally; Azure connects by identity):

- `OrdersStore`: the Cosmos emulator string (`AccountEndpoint=https://localhost:8081/;...`), or in
  Azure `OrdersStore__accountEndpoint`; `ORDERS_DATABASE` (`nightshift`), `ORDERS_CONTAINER`
  (`orders`);
- `ServiceBusConnection`: `Endpoint=sb://localhost;...;UseDevelopmentEmulator=true;`, or
  `ServiceBusConnection__fullyQualifiedNamespace`;
- `ORDERS_INDEX_PATH`: the query read model's SQLite file (default `<state>/orders/order-index.db`
  under devhost, else a file in the temporary folder: it is rebuilt from the store when missing);
- limits `ORDERS_MAX_LINES` (100), `ORDERS_MAX_QUANTITY` (1000), `ORDERS_MAX_BODY_BYTES` (65536);
- the saga's `ORDERS_RESERVATION_TIMEOUT_SECONDS` (300), `ORDERS_PAYMENT_RETRY_FIRST_MS` (1000),
  `ORDERS_PAYMENT_RETRY_MAX_ATTEMPTS` (5) (`orders.saga.SagaSettings`);
- the payment provider's `PAYMENTS_*` settings (`orders.payments.factory`).

An emulator string means the embedded adapters in the folder named by `DEVHOST_STATE_DIR`
(`<state>/cosmos/<db>/<container>.db`, `<state>/servicebus.db`), opened with eventkit only: the
service never imports devhost.
"""

from __future__ import annotations

import os
import tempfile
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from eventkit.bootstrap import STATE_DIR_VARIABLE as STATE_DIR_VARIABLE  # re-exported
from eventkit.bootstrap import SettingMissing as SettingMissing  # re-exported
from eventkit.bootstrap import (
    StoreSettings,
    build_event_store,
    build_publishers,
)
from eventkit.bootstrap import is_emulator as is_emulator  # re-exported
from eventkit.publisher import Publisher
from eventkit.store import EventStore

from .domain import OrderLimits
from .handlers import Orders
from .integration import TOPIC
from .order_index import OrderIndex
from .payments import PaymentGateway, gateway_from_settings
from .saga import SagaSettings

STORE_SETTINGS = StoreSettings(
    connection="OrdersStore",
    database_setting="ORDERS_DATABASE",
    container_setting="ORDERS_CONTAINER",
    default_container="orders",
)


@dataclass
class Service:
    """What the function app's triggers use: the use cases' ports, the relay's publisher and the
    saga's settings."""

    orders: Orders
    publisher: Publisher
    saga: SagaSettings


def build_store(env: Mapping[str, str]) -> EventStore:
    """The event store: embedded SQLite for the emulator string, else Cosmos DB by identity."""
    return build_event_store(env, STORE_SETTINGS)


def build_publisher(env: Mapping[str, str]) -> Publisher:
    """The publisher onto topic `orders`."""
    return build_publishers(env, {TOPIC: "servicebus"})[TOPIC]


def index_path(env: Mapping[str, str]) -> Path:
    """Where the query read model lives (see the module's table)."""
    configured = env.get("ORDERS_INDEX_PATH")
    if configured:
        return Path(configured)
    if env.get(STATE_DIR_VARIABLE):
        return Path(env[STATE_DIR_VARIABLE]) / "orders" / "order-index.db"
    return Path(tempfile.gettempdir()) / "nightshift-orders" / "order-index.db"


def limits_from(env: Mapping[str, str]) -> OrderLimits:
    """The order limits; raises `ValueError` naming a malformed setting."""
    defaults = OrderLimits()
    values = {}
    for field, name in (
        ("max_lines", "ORDERS_MAX_LINES"),
        ("max_quantity", "ORDERS_MAX_QUANTITY"),
        ("max_body_bytes", "ORDERS_MAX_BODY_BYTES"),
    ):
        raw = (env.get(name) or "").strip()
        if not raw:
            values[field] = getattr(defaults, field)
        elif raw.isdigit() and int(raw) > 0:
            values[field] = int(raw)
        else:
            raise ValueError(f"setting {name}={raw!r} must be a whole number > 0")
    return OrderLimits(**values)


def _lazy_gateway(env: Mapping[str, str]) -> Callable[[], PaymentGateway]:
    built: list[PaymentGateway] = []
    lock = threading.Lock()

    def gateway() -> PaymentGateway:
        with lock:
            if not built:
                built.append(gateway_from_settings(env, None))
            return built[0]

    return gateway


def bootstrap(
    env: Mapping[str, str] | None = None,
    *,
    store: EventStore | None = None,
    publisher: Publisher | None = None,
    gateway: PaymentGateway | None = None,
    index: OrderIndex | None = None,
) -> Service:
    """The service's ports: those given (tests), else built from `env` (default: os.environ).
    Raises `SettingMissing` naming the setting to add, `ValueError` for a malformed one."""
    env = os.environ if env is None else env
    orders = Orders(
        store=store if store is not None else build_store(env),
        gateway=(lambda: gateway) if gateway is not None else _lazy_gateway(dict(env)),
        index=index if index is not None else OrderIndex(index_path(env)),
        limits=limits_from(env),
    )
    return Service(
        orders,
        publisher if publisher is not None else build_publisher(env),
        SagaSettings.from_settings(env),
    )


_service: Service | None = None
_lock = threading.Lock()


def service() -> Service:
    """The process's one `Service`, built on first use (not at import: indexing stays cheap)."""
    global _service
    with _lock:
        if _service is None:
            _service = bootstrap()
        return _service
