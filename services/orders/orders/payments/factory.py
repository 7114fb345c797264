"""Chooses the payment provider from settings: the one place that knows every adapter.

Settings (app settings in Azure, `local.settings.json` locally):

- `PAYMENTS_PROVIDER`: `simulator` (the default when unset or empty);
- `PAYMENTS_SIMULATOR_DECLINE_ABOVE` (10000000), `PAYMENTS_SIMULATOR_FLAKY_FAILURES` (2),
  `PAYMENTS_SIMULATOR_LATENCY_MS` (0): the simulator's rules, whole numbers >= 0;
- `DEVHOST_STATE_DIR`: where the simulator keeps its ledger (`<state>/payments/simulator.db`)
  when no `state_dir` is passed.

A real provider registers its builder in `PROVIDERS` (see docs/payments.md).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

from .port import PaymentGateway
from .simulator import SimulatedPaymentGateway, SimulatorRules

PROVIDER_SETTING = "PAYMENTS_PROVIDER"
DEFAULT_PROVIDER = "simulator"
STATE_DIR_SETTING = "DEVHOST_STATE_DIR"
SIMULATOR_LEDGER = Path("payments") / "simulator.db"
RULE_SETTINGS = {
    "decline_above": "PAYMENTS_SIMULATOR_DECLINE_ABOVE",
    "flaky_failures": "PAYMENTS_SIMULATOR_FLAKY_FAILURES",
    "latency_ms": "PAYMENTS_SIMULATOR_LATENCY_MS",
}


class PaymentSettingsError(ValueError):
    """The payment settings name an unknown provider, hold a malformed value, or miss one."""


ProviderBuilder = Callable[[Mapping[str, str], Path | None], PaymentGateway]


def simulator_from_settings(settings: Mapping[str, str], state_dir: Path | None) -> SimulatedPaymentGateway:
    """The simulator with its ledger in `state_dir` (else `DEVHOST_STATE_DIR`) and its rules
    from the `PAYMENTS_SIMULATOR_*` settings. Raises `PaymentSettingsError`."""
    folder = state_dir if state_dir is not None else settings.get(STATE_DIR_SETTING)
    if not folder:
        raise PaymentSettingsError(
            f"{PROVIDER_SETTING}={DEFAULT_PROVIDER!r} keeps its ledger in the state folder: pass "
            f"state_dir or set {STATE_DIR_SETTING} (devhost sets it)"
        )
    return SimulatedPaymentGateway(Path(folder) / SIMULATOR_LEDGER, simulator_rules(settings))


def simulator_rules(settings: Mapping[str, str]) -> SimulatorRules:
    """The simulator's rules from settings; an unset or empty setting keeps its default."""
    values: dict[str, int] = {}
    for field, name in RULE_SETTINGS.items():
        raw = settings.get(name, "").strip()
        if not raw:
            continue
        if not raw.isdigit():
            raise PaymentSettingsError(f"{name}={raw!r} must be a whole number >= 0")
        values[field] = int(raw)
    return SimulatorRules(**values)


PROVIDERS: dict[str, ProviderBuilder] = {
    DEFAULT_PROVIDER: simulator_from_settings,
}


def gateway_from_settings(settings: Mapping[str, str], state_dir: Path | None) -> PaymentGateway:
    """The gateway named by `PAYMENTS_PROVIDER` (case-insensitive; `simulator` if unset).

    Build it once per process (in the service's bootstrap). Raises `PaymentSettingsError` for
    an unknown provider, naming the setting and the supported providers.
    """
    name = settings.get(PROVIDER_SETTING, "").strip().lower() or DEFAULT_PROVIDER
    builder = PROVIDERS.get(name)
    if builder is None:
        supported = ", ".join(sorted(PROVIDERS))
        raise PaymentSettingsError(
            f"{PROVIDER_SETTING}={settings[PROVIDER_SETTING]!r} is not a payment provider this "
            f"service knows; supported: {supported}"
        )
    return builder(settings, state_dir)
