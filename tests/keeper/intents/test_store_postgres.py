"""Several keepers on one store: separate processes and engines, a real PostgreSQL server.

The PostgreSQL cluster is a private one started for the session (``conftest.py``). Tests that
take ``db_url`` run on SQLite as well.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from keeper.intents.states import IntentState
from keeper.intents.store import IntentStore, StoreError
from tests.keeper.intents.conftest import postgres_only
from tests.keeper.intents.test_store import NOW, add, intent_id

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(__file__))))

CLAIMER = textwrap.dedent(
    """
    import json, sys
    from keeper.intents.store import IntentStore
    store = IntentStore(sys.argv[1], keeper_id=sys.argv[2])
    print("ready", flush=True)
    sys.stdin.readline()  # start together
    mine = []
    while ids := store.claim(limit=2, chain_time=int(sys.argv[3])).ids:
        mine.extend(ids)
    print(json.dumps(mine), flush=True)
    store.close()
    """
)

# Commits one claim, then dies inside a second one: its rows are locked, nothing is committed.
DOOMED = textwrap.dedent(
    """
    import json, sys
    from sqlalchemy import event
    from keeper.intents.store import IntentStore
    store = IntentStore(sys.argv[1], keeper_id="doomed", lease_s=60)
    print(json.dumps(store.claim(limit=2, chain_time=int(sys.argv[2])).ids), flush=True)

    @event.listens_for(store.engine, "after_cursor_execute")
    def hold(conn, cursor, statement, parameters, context, executemany):
        if "FOR UPDATE" in statement:
            print(json.dumps([row[0] for row in cursor.fetchall()]), flush=True)
            sys.stdin.readline()  # never answered: SIGKILLed here, rows still locked

    store.claim(limit=3, chain_time=int(sys.argv[2]))
    """
)


def spawn(script: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", script, *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )


def line(proc: subprocess.Popen[str]) -> str:
    assert proc.stdout is not None
    out = proc.stdout.readline()
    assert out, f"keeper process {proc.pid} exited with {proc.poll()}"
    return out


def with_lock_timeout(url: str, ms: int) -> str:
    """The same database, but a statement that waits for a row lock fails after ``ms``."""
    parsed = make_url(url).update_query_dict({"options": f"-c lock_timeout={ms}"})
    return parsed.render_as_string(hide_password=False)


def test_keepers_starting_together_on_an_empty_database_create_the_schema_once(postgres_url):
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []

    def start(n: int) -> None:
        barrier.wait()
        try:
            IntentStore(postgres_url, keeper_id=f"k{n}").close()
        except BaseException as err:
            errors.append(err)

    threads = [threading.Thread(target=start, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


@pytest.mark.slow
@postgres_only
def test_keeper_processes_claim_every_intent_exactly_once(postgres_url, open_store):
    seed = open_store("seed")
    for n in range(300):
        add(seed, n)
    names = ["p0", "p1", "p2"]
    procs = [spawn(CLAIMER, postgres_url, name, str(NOW)) for name in names]
    try:
        for proc in procs:
            assert line(proc).strip() == "ready"
        for proc in procs:  # all connected: let them race
            assert proc.stdin is not None
            proc.stdin.write("go\n")
            proc.stdin.flush()
        taken = {name: json.loads(line(proc)) for name, proc in zip(names, procs, strict=True)}
    finally:
        for proc in procs:
            proc.kill()
            proc.wait()
    everything = [i for ids in taken.values() for i in ids]
    assert sorted(everything) == sorted(intent_id(n) for n in range(300))  # none lost or twice
    assert all(taken.values()), {k: len(v) for k, v in taken.items()}  # they really competed
    for record in seed.find(limit=1000):
        assert record.state is IntentState.BATCHED
        assert record.id in taken[str(record.claimed_by)]
        batched = [t for t in seed.history(record.id) if t.target is IntentState.BATCHED]
        assert [t.keeper_id for t in batched] == [record.claimed_by]


@pytest.mark.slow
@postgres_only
def test_a_killed_keepers_locked_rows_are_skipped_then_released(postgres_url, open_store):
    seed = open_store("seed")
    for n in range(10):
        add(seed, n)
    doomed = spawn(DOOMED, postgres_url, str(NOW))
    try:
        committed = json.loads(line(doomed))
        locked = json.loads(line(doomed))  # now blocked inside its second claim
        assert committed == [intent_id(0), intent_id(1)]
        assert locked == [intent_id(2), intent_id(3), intent_id(4)]

        # A keeper that may wait at most 2 s for a lock: it must not wait at all.
        survivor = open_store(
            "survivor", clock=lambda: time.time() + 61, url=with_lock_timeout(postgres_url, 2000)
        )
        with survivor.engine.connect() as conn, pytest.raises(OperationalError, match="lock"):
            conn.execute(  # the rows really are locked by the doomed keeper
                text("SELECT id FROM intents WHERE id = :id FOR UPDATE NOWAIT"), {"id": locked[0]}
            )
        started = time.monotonic()
        assert survivor.claim(limit=10, chain_time=NOW).ids == [intent_id(n) for n in range(5, 10)]
        assert time.monotonic() - started < 2
        assert {survivor.get(i).state for i in locked} == {IntentState.ACCEPTED}
    finally:
        os.kill(doomed.pid, signal.SIGKILL)
        doomed.wait()
        for stream in (doomed.stdin, doomed.stdout):
            if stream:
                stream.close()

    # Its open transaction died with it: the locked rows are claimable again at once.
    deadline = time.monotonic() + 10
    while not (reclaimed := survivor.claim(limit=10, chain_time=NOW).ids):
        assert time.monotonic() < deadline, "the dead keeper's row locks were never released"
        time.sleep(0.05)
    assert reclaimed == locked
    # Its committed claim returns only when its lease runs out (survivor's clock is 61 s on).
    assert survivor.get(intent_id(0)).claimed_by == "doomed"
    survivor.recover()
    assert survivor.claim(limit=10, chain_time=NOW).ids == committed
    for n in range(2, 5):
        assert [t.keeper_id for t in survivor.history(intent_id(n))][1:] == ["survivor"]


def test_the_claim_sends_for_update_skip_locked_to_postgres_only(db_url, open_store, caplog):
    store = open_store("k1")
    add(store, 1)
    store.engine.echo = True  # SQLAlchemy logs every statement it sends
    with caplog.at_level(logging.INFO, logger="sqlalchemy.engine.Engine"):
        assert store.claim(limit=5, chain_time=NOW).ids == [intent_id(1)]
    sent = [r.getMessage() for r in caplog.records if r.name == "sqlalchemy.engine.Engine"]
    locking = [s for s in sent if "FOR UPDATE" in s]
    if store.is_postgres:
        assert len(locking) == 1 and locking[0].rstrip().endswith("FOR UPDATE SKIP LOCKED")
    else:
        assert locking == []  # one UPDATE ... WHERE id IN (SELECT ...) instead
        assert any(s.startswith("UPDATE intents") and "SELECT" in s for s in sent)


def test_keepers_recovering_a_dead_keepers_bundle_at_once_adopt_each_intent_once(
    db_url, open_store: Callable[..., IntentStore]
):
    dead = open_store("dead", lease_s=1)
    for n in range(40):
        add(dead, n)
    claim = dead.claim(limit=40, chain_time=NOW)
    dead.move(claim.ids, IntentState.BATCHED, IntentState.SIMULATED, token=claim.token)
    dead.move(claim.ids, IntentState.SIMULATED, IntentState.SUBMITTED, token=claim.token)
    later = time.time() + 10
    keepers = [open_store(f"r{n}", clock=lambda: later) for n in range(4)]
    for keeper in keepers:  # connected before the race
        keeper.counts()
    barrier = threading.Barrier(len(keepers))
    adopted: dict[str, list[str]] = {}

    def recover(keeper: IntentStore) -> None:
        barrier.wait()
        adopted[keeper.keeper_id] = keeper.recover().ids

    threads = [threading.Thread(target=recover, args=(k,)) for k in keepers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    everything = [i for ids in adopted.values() for i in ids]
    assert sorted(everything) == sorted(claim.ids)
    for keeper_id, ids in adopted.items():
        assert {dead.get(i).claimed_by for i in ids} <= {keeper_id}


def test_a_plain_postgresql_url_uses_psycopg_3(postgres_url):
    plain = postgres_url.replace("postgresql+psycopg://", "postgresql://", 1)
    store = IntentStore(plain, keeper_id="k1")
    try:
        assert store.engine.dialect.driver == "psycopg"
        add(store, 1)
        assert store.get(intent_id(1)).state is IntentState.ACCEPTED
    finally:
        store.close()


@pytest.mark.parametrize(
    ("url", "keeper_id", "field"),
    [
        ("not a database url", "k1", "store_url"),
        ("nosuchdb://host/db", "k1", "store_url"),
        ("sqlite://", "k" * 129, "keeper_id"),
        ("sqlite://", "", "keeper_id"),
    ],
)
def test_a_bad_store_setting_is_an_error_naming_it(url, keeper_id, field):
    with pytest.raises(StoreError, match=f"^{field}: "):
        IntentStore(url, keeper_id=keeper_id)
