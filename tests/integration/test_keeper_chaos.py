"""The keeper under injected faults (issue 15, acceptance): a real ``keeper run`` behind
fault-injecting proxies in front of its node and its relay (cut bodies, dropped connections,
429/500/502, delays past its timeout), ``kill -9``ed and restarted, with the relay process
restarted under it, while users submit intents over HTTP, the drop folder and the CLI.

While the faults last the daemon never exits on its own; once they stop, every valid intent is
settled exactly once, nothing is lost, and the store agrees with the chain. A short run (45 s
of faults); ``make chaos`` runs the same for CHAOS_MINUTES.
"""

from __future__ import annotations

import pytest

from keeper.devstack.chaos import ChaosPlan, run_chaos

pytestmark = [pytest.mark.fork, pytest.mark.slow]


def test_faults_cost_no_exit_no_intent_and_no_double_settlement(tmp_path):
    plan = ChaosPlan(
        minutes=0.75,
        users=6,
        node_fault_rate=0.05,
        relay_fault_rate=0.12,
        kill_every_s=15,
        relay_restart_every_s=25,
        submit_every_s=1.0,
        settle_timeout_s=150,
        invalid_share=0.1,
        cancel_share=0.1,
        seed=7,
    )
    result = run_chaos(tmp_path, plan, say=lambda line: None)
    report = result.render()
    assert result.daemon_exits == 0, report
    assert result.lost == [] and result.double == [], report
    assert result.unsettled_valid == [], report
    assert result.kills >= 1 and result.relay_restarts >= 1, report
    assert sum(c for k, c in result.faults["node"].items() if k != "requests") > 0, report
    assert sum(c for k, c in result.faults["relay"].items() if k != "requests") > 0, report
    assert result.states["settled"] > 0 and result.rejected > 0, report
