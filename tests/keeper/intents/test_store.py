"""The intent store: idempotent intake, claims, transitions, expiry and recovery.

Every test that takes ``db_url``/``store``/``open_store`` runs on SQLite and on PostgreSQL
(``conftest.py``)."""

from __future__ import annotations

import itertools
import threading

import pytest
from sqlalchemy.dialects import postgresql, sqlite

from keeper.intents.states import IntentState, TransitionError
from keeper.intents.store import IntentStore, NonceInUseError, UnknownIntentError, ready_query

OWNER = "0x" + "ab" * 20
EXECUTOR = "0x" + "cd" * 20
NOW = 1_700_000_000


class Clock:
    """A wall clock the test moves by hand (leases are measured on it)."""

    def __init__(self, start: float = 1_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


def intent_id(n: int) -> str:
    return "0x" + f"{n:064x}"


def add(store: IntentStore, n: int, *, nonce: int | None = None, deadline: int = NOW + 3600, **kw):
    return store.add(
        intent_id(n),
        chain_id=31337,
        executor=EXECUTOR,
        owner=kw.pop("owner", OWNER),
        nonce=n if nonce is None else nonce,
        valid_after=kw.pop("valid_after", 0),
        deadline=deadline,
        payload={"n": n},
        block=kw.pop("block", 1),
    )


def test_adding_the_same_signed_intent_twice_returns_the_first_record(store):
    first, created = add(store, 1)
    again, created_again = add(store, 1)
    assert created and not created_again
    assert again.id == first.id and again.state is IntentState.ACCEPTED
    assert len(store.find()) == 1
    assert [t.target for t in store.history(first.id)] == [IntentState.ACCEPTED]


def test_a_second_live_intent_with_the_same_nonce_is_refused_naming_the_nonce(store):
    add(store, 1, nonce=7)
    with pytest.raises(NonceInUseError, match="nonce: 7") as err:
        add(store, 2, nonce=7)
    assert err.value.other_id == intent_id(1)
    # Once the first one is finished the nonce no longer blocks the store (the chain decides).
    store.move([intent_id(1)], IntentState.ACCEPTED, IntentState.CANCELLED, reason="user")
    _, created = add(store, 2, nonce=7)
    assert created


def test_huge_nonces_round_trip_exactly(store):
    record, _ = add(store, 1, nonce=2**256 - 1)
    assert store.get(record.id).nonce == 2**256 - 1


def test_unknown_intent_is_a_named_error(store):
    with pytest.raises(UnknownIntentError, match=intent_id(99)):
        store.get(intent_id(99))


def test_claim_takes_only_ready_intents_oldest_first_and_records_the_block(store):
    add(store, 1)
    add(store, 2, valid_after=NOW + 10)  # not yet valid
    add(store, 3, deadline=NOW)  # deadline reached
    add(store, 4)
    claim = store.claim(limit=10, chain_time=NOW, block=42)
    assert claim.ids == [intent_id(1), intent_id(4)]
    assert all(r.state is IntentState.BATCHED and r.claimed_by == "k1" for r in claim.records)
    assert store.history(intent_id(1))[-1].block_number == 42
    assert store.claim(limit=10, chain_time=NOW).ids == []


def test_claim_leaves_intents_whose_deadline_comes_before_the_next_block_to_expire(store):
    add(store, 1, deadline=NOW + 5)  # valid at the head, not in a block 12 s later
    add(store, 2, deadline=NOW + 12)  # valid in exactly that block (timestamp <= deadline)
    add(store, 3, valid_after=NOW + 6)  # validity starts from the head's time, not the next's
    claim = store.claim(limit=10, chain_time=NOW, lands_at=NOW + 12)
    assert claim.ids == [intent_id(2)]
    assert store.get(intent_id(1)).state is IntentState.ACCEPTED
    assert store.expire(NOW + 12) == [intent_id(1)]


def test_moves_need_the_expected_state_and_the_claim_token(store):
    add(store, 1)
    claim = store.claim(limit=1, chain_time=NOW)
    assert store.move(claim.ids, IntentState.BATCHED, IntentState.SIMULATED, token="other") == []
    assert store.move(claim.ids, IntentState.ACCEPTED, IntentState.BATCHED) == []
    moved = store.move(claim.ids, IntentState.BATCHED, IntentState.SIMULATED, token=claim.token)
    assert moved == claim.ids
    assert store.get(intent_id(1)).state is IntentState.SIMULATED


def test_a_transition_outside_the_life_cycle_is_refused(store):
    add(store, 1)
    with pytest.raises(TransitionError, match="from accepted to settled"):
        store.move([intent_id(1)], IntentState.ACCEPTED, IntentState.SETTLED)


def test_the_full_life_is_recorded_with_hashes_blocks_and_reason(store):
    add(store, 1, block=10)
    claim = store.claim(limit=1, chain_time=NOW, block=11)
    store.move(claim.ids, IntentState.BATCHED, IntentState.SIMULATED, token=claim.token, block=11)
    tx, bundle = "0x" + "11" * 32, "0x" + "22" * 32
    store.move(
        claim.ids,
        IntentState.SIMULATED,
        IntentState.SUBMITTED,
        token=claim.token,
        block=11,
        tx_hash=tx,
        bundle_hash=bundle,
        target_block=14,
    )
    store.move(claim.ids, IntentState.SUBMITTED, IntentState.SETTLED, token=claim.token, block=12)
    record = store.get(intent_id(1))
    assert record.state is IntentState.SETTLED and record.claimed_by is None
    assert (record.tx_hash, record.bundle_hash, record.target_block) == (tx, bundle, 14)
    history = store.history(intent_id(1))
    assert [t.target.value for t in history] == [
        "accepted",
        "batched",
        "simulated",
        "submitted",
        "settled",
    ]
    assert [t.block_number for t in history] == [10, 11, 11, 11, 12]
    assert history[3].tx_hash == tx and history[3].bundle_hash == bundle
    assert all(a.at <= b.at for a, b in itertools.pairwise(history))
    assert store.counts()[IntentState.SETTLED] == 1


def test_expire_moves_only_unclaimed_intents_past_their_deadline(store):
    add(store, 1, deadline=NOW + 5)
    add(store, 2, deadline=NOW + 5)
    add(store, 3, deadline=NOW + 500)
    claimed = store.claim(limit=1, chain_time=NOW)
    assert claimed.ids == [intent_id(1)]
    assert store.expire(chain_time=NOW + 5, block=99) == [intent_id(2)]
    record = store.get(intent_id(2))
    assert record.state is IntentState.EXPIRED and "deadline" in (record.reason or "")


def test_state_and_history_survive_closing_and_reopening_the_database(open_store):
    first = open_store("k1")
    add(first, 1)
    add(first, 2)
    claim = first.claim(limit=1, chain_time=NOW)
    first.move(claim.ids, IntentState.BATCHED, IntentState.SIMULATED, token=claim.token)
    first.close()

    reopened = open_store("k1")
    assert reopened.get(intent_id(1)).state is IntentState.SIMULATED
    assert reopened.get(intent_id(2)).state is IntentState.ACCEPTED
    assert len(reopened.history(intent_id(1))) == 3
    reopened.close()


def test_restart_returns_unsent_claims_and_adopts_submitted_ones(open_store):
    before = open_store("k1")
    for n in (1, 2):
        add(before, n)
    claim = before.claim(limit=2, chain_time=NOW)
    before.move(claim.ids, IntentState.BATCHED, IntentState.SIMULATED, token=claim.token)
    before.move(
        [intent_id(2)],
        IntentState.SIMULATED,
        IntentState.SUBMITTED,
        token=claim.token,
        tx_hash="0x" + "33" * 32,
    )
    before.close()  # the process dies here; leases are still running

    after = open_store("k1")
    adopted = after.recover(block=5, own=True)
    assert after.get(intent_id(1)).state is IntentState.ACCEPTED
    assert "recovered" in (after.get(intent_id(1)).reason or "")
    assert adopted.ids == [intent_id(2)]
    assert adopted.token != claim.token
    # The adopted claim is usable; the dead process's token no longer is.
    assert (
        after.move(adopted.ids, IntentState.SUBMITTED, IntentState.SETTLED, token=claim.token) == []
    )
    moved = after.move(adopted.ids, IntentState.SUBMITTED, IntentState.SETTLED, token=adopted.token)
    assert moved == [intent_id(2)]


def test_another_keepers_claims_are_taken_back_only_after_their_lease_runs_out(open_store):
    clock = Clock()
    dead = open_store("dead", lease_s=60, clock=clock)
    add(dead, 1)
    dead.claim(limit=1, chain_time=NOW)
    alive = open_store("alive", lease_s=60, clock=clock)
    alive.recover()
    assert alive.get(intent_id(1)).state is IntentState.BATCHED
    clock.now += 61
    alive.recover()
    assert alive.get(intent_id(1)).state is IntentState.ACCEPTED
    assert alive.claim(limit=1, chain_time=NOW).ids == [intent_id(1)]


def test_renewing_a_claim_keeps_it_from_being_recovered(open_store):
    clock = Clock()
    holder = open_store("holder", lease_s=60, clock=clock)
    add(holder, 1)
    claim = holder.claim(limit=1, chain_time=NOW)
    clock.now += 50
    assert holder.renew(claim.token) == 1
    clock.now += 50
    other = open_store("other", lease_s=60, clock=clock)
    other.recover()
    assert other.get(intent_id(1)).state is IntentState.BATCHED


def test_concurrent_keepers_never_claim_the_same_intent(open_store):
    seed = open_store("seed")
    for n in range(120):
        add(seed, n)
    taken: dict[str, list[str]] = {}

    def work(name: str) -> None:
        store = open_store(name)
        mine: list[str] = []
        while claim := store.claim(limit=3, chain_time=NOW).ids:
            mine.extend(claim)
        taken[name] = mine
        store.close()

    threads = [threading.Thread(target=work, args=(f"k{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    everything = [i for ids in taken.values() for i in ids]
    assert len(everything) == 120 and len(set(everything)) == 120
    assert sum(1 for ids in taken.values() if ids) >= 2  # they really competed
    for record in seed.find():
        assert record.claimed_by in taken and record.id in taken[record.claimed_by]


def test_claim_query_locks_rows_and_skips_locked_ones_on_postgres_only():
    pg = str(ready_query(5, NOW, row_locks=True).compile(dialect=postgresql.dialect()))
    lite = str(ready_query(5, NOW, row_locks=False).compile(dialect=sqlite.dialect()))
    assert "FOR UPDATE SKIP LOCKED" in pg
    assert "FOR UPDATE" not in lite
