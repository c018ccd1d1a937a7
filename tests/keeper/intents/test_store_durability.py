"""The store survives a keeper SIGKILLed mid-write (on SQLite and on PostgreSQL)."""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from keeper.intents.states import TERMINAL, IntentState
from keeper.intents.store import IntentStore

WORKER = textwrap.dedent(
    """
    import sys
    from keeper.intents.states import IntentState as S
    from keeper.intents.store import IntentStore
    store = IntentStore(sys.argv[1], keeper_id="victim")
    n = 0
    while True:
        for _ in range(5):
            store.add("0x%064x" % n, chain_id=1, executor="0x" + "cd" * 20, owner="0x" + "ab" * 20,
                      nonce=n, valid_after=0, deadline=2**40, payload={"n": n})
            n += 1
        claim = store.claim(limit=4, chain_time=1)
        store.move(claim.ids, S.BATCHED, S.SIMULATED, token=claim.token)
        store.move(claim.ids, S.SIMULATED, S.SUBMITTED, token=claim.token, tx_hash="0x" + "1" * 64)
        store.move(claim.ids[:2], S.SUBMITTED, S.SETTLED, token=claim.token)
        print(n, flush=True)
    """
)


def consistent(store: IntentStore) -> int:
    """Assert every intent's state is the end of an unbroken recorded chain; return how many."""
    records = store.find(limit=100_000)
    for record in records:
        history = store.history(record.id)
        assert history[0].source is None and history[0].target is IntentState.ACCEPTED
        for before, after in itertools.pairwise(history):
            assert after.source is before.target
        assert history[-1].target is record.state
        assert sum(1 for t in history if t.target in TERMINAL) <= 1
    return len(records)


@pytest.mark.slow
def test_a_keeper_killed_mid_write_leaves_every_intent_consistent_and_recoverable(db_url):
    IntentStore(db_url, keeper_id="init").close()
    proc = subprocess.Popen(
        [sys.executable, "-c", WORKER, db_url], stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        for _ in range(30):  # let it write a while, then kill it without warning
            proc.stdout.readline()
        time.sleep(0.05)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        if proc.stdout:
            proc.stdout.close()

    store = IntentStore(db_url, keeper_id="victim")
    try:
        check_recovery(store)
    finally:
        store.close()


def check_recovery(store: IntentStore) -> None:
    total = consistent(store)
    assert total >= 150
    adopted = store.recover(own=True)
    assert all(r.state is IntentState.SUBMITTED for r in adopted.records)
    counts = store.counts()
    assert counts[IntentState.BATCHED] == counts[IntentState.SIMULATED] == 0
    assert consistent(store) == total
