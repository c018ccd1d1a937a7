"""`keeper strategy watch` keeps going through outages: a heartbeat per round, a failed round
in one line with a doubling wait, and a last line saying it stopped."""

from __future__ import annotations

from typing import Any

from keeper.rpc import RpcError
from keeper.strategy.live.alerts import Alert, AlertKind
from keeper.strategy.live.watch import run_rounds


class _Flaky:
    """Fails ``failures`` rounds (the node is down), then alerts once per round."""

    def __init__(self, failures: int) -> None:
        self.failures = failures

    def round(self) -> list[Alert]:
        if self.failures:
            self.failures -= 1
            raise RpcError("eth_blockNumber", "connection refused")
        return [Alert(kind=AlertKind.SCHEDULED, owner="alice", message="rebalance\nsell 1 WETH")]


def test_failed_rounds_are_retried_with_a_doubling_wait_and_each_round_is_reported():
    lines: list[str] = []
    waits: list[float] = []
    watcher: Any = _Flaky(failures=3)
    done = run_rounds(watcher, lines.append, 10.0, rounds=5, max_backoff=35.0, sleep=waits.append)

    assert done == 5
    assert waits == [20.0, 35.0, 35.0, 10.0]  # doubled, capped, then back to the interval
    failed = [line for line in lines if "failed" in line]
    assert len(failed) == 3
    assert failed[0].endswith(
        "round 1 failed: rpc eth_blockNumber: connection refused; retrying in 20 s"
    )
    assert "[scheduled] rebalance" in lines
    assert lines[-2].endswith("round 5: 1 alert(s); next in 10 s")
    assert lines[-1] == "stopped after 5 round(s)"


def test_ctrl_c_says_how_many_rounds_ran():
    lines: list[str] = []

    def interrupt(seconds: float) -> None:
        raise KeyboardInterrupt

    watcher: Any = _Flaky(failures=0)
    assert run_rounds(watcher, lines.append, 1.0, sleep=interrupt) == 1
    assert lines[-1] == "stopped after 1 round(s) (Ctrl-C)"
