"""Choosing the payment provider from settings."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from pathlib import Path

import pytest
from orders.payments import (
    PROVIDERS,
    PaymentGateway,
    PaymentSettingsError,
    SimulatedPaymentGateway,
    SimulatorRules,
    gateway_from_settings,
)


def test_without_settings_the_simulator_keeps_its_ledger_in_the_state_folder(tmp_path: Path) -> None:
    gateway = gateway_from_settings({}, tmp_path)

    assert isinstance(gateway, SimulatedPaymentGateway)
    assert gateway.db_path == tmp_path / "payments" / "simulator.db"
    assert gateway.db_path.exists()
    assert gateway.rules == SimulatorRules()


def test_the_state_folder_comes_from_devhost_when_none_is_passed(tmp_path: Path) -> None:
    gateway = gateway_from_settings(
        {"DEVHOST_STATE_DIR": str(tmp_path), "PAYMENTS_PROVIDER": "Simulator"}, None
    )

    assert isinstance(gateway, SimulatedPaymentGateway)
    assert gateway.db_path == tmp_path / "payments" / "simulator.db"


def test_the_simulator_without_a_state_folder_names_the_setting_to_give() -> None:
    with pytest.raises(PaymentSettingsError, match="DEVHOST_STATE_DIR"):
        gateway_from_settings({}, None)


def test_the_simulators_rules_come_from_settings(tmp_path: Path) -> None:
    settings = {
        "PAYMENTS_SIMULATOR_DECLINE_ABOVE": "5000",
        "PAYMENTS_SIMULATOR_FLAKY_FAILURES": "0",
        "PAYMENTS_SIMULATOR_LATENCY_MS": " 20 ",
    }

    gateway = gateway_from_settings(settings, tmp_path)

    assert isinstance(gateway, SimulatedPaymentGateway)
    assert gateway.rules == SimulatorRules(decline_above=5_000, flaky_failures=0, latency_ms=20)


@pytest.mark.parametrize("value", ["-1", "two", "1.5"])
def test_a_malformed_rule_setting_is_named_with_its_value(tmp_path: Path, value: str) -> None:
    with pytest.raises(PaymentSettingsError, match=f"PAYMENTS_SIMULATOR_FLAKY_FAILURES='{value}'"):
        gateway_from_settings({"PAYMENTS_SIMULATOR_FLAKY_FAILURES": value}, tmp_path)


def test_an_unknown_provider_names_the_setting_and_the_supported_providers(tmp_path: Path) -> None:
    with pytest.raises(PaymentSettingsError) as refused:
        gateway_from_settings({"PAYMENTS_PROVIDER": "stripe"}, tmp_path)

    assert "PAYMENTS_PROVIDER='stripe'" in str(refused.value)
    assert "supported: simulator" in str(refused.value)


def test_a_provider_registered_under_a_name_is_built_from_the_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = f"sandbox-{uuid.uuid4().hex[:6]}"

    def sandbox(settings: Mapping[str, str], state_dir: Path | None) -> PaymentGateway:
        assert state_dir is not None
        return SimulatedPaymentGateway(state_dir / settings["SANDBOX_LEDGER"], SimulatorRules())

    monkeypatch.setitem(PROVIDERS, name, sandbox)

    gateway = gateway_from_settings({"PAYMENTS_PROVIDER": name, "SANDBOX_LEDGER": "sandbox.db"}, tmp_path)

    assert isinstance(gateway, SimulatedPaymentGateway)
    assert gateway.db_path == tmp_path / "sandbox.db"
