"""Two Cosmos DB triggers of one app on one container with the same lease container and prefix
split the leases on Azure, so each change reaches only one of them. devhost keeps a lease per
function, so it says so at start instead of working here and losing changes there."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from devhost.testing import DevhostProcess, wait_for

APP = Path(__file__).parent / "apps" / "cosmos_shared_leases"


def test_triggers_sharing_a_containers_leases_are_in_error_naming_each_other_and_the_fix(
    start_devhost: Callable[..., DevhostProcess],
) -> None:
    host = start_devhost([APP])
    host.wait_running(0, APP.name)  # the app runs; the two clashing functions do not

    output = wait_for(lambda: host.output.count("function is in error") >= 2 and host.output, what="errors")

    for function, other in (("publish_changes", "start_workflows"), ("start_workflows", "publish_changes")):
        assert (
            f"The '{function}' function is in error: functions '{function}' and '{other}' follow "
            "shop/sales with the same lease container 'leases' and lease prefix ''"
        ) in output
    assert "give each its own lease_container_prefix" in output
    assert "The 'audit_changes' function is in error" not in output  # its twin is disabled
