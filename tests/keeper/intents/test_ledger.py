"""The ledger: settlements with their fills, decisions and signed-control nonces, kept in the
intent store's database (SQLite here; the tables come with the store's schema)."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect

from keeper.intents.ledger import (
    ControlReplayError,
    Counterfactual,
    Fill,
    Leg,
    Settlement,
)
from keeper.intents.store import IntentStore

ALICE = "0x" + "a1" * 20
BOB = "0x" + "b0" * 20
WETH = "0x" + "11" * 20
USDC = "0x" + "22" * 20


@pytest.fixture
def store(tmp_path):
    s = IntentStore(f"sqlite:///{tmp_path / 'intents.db'}", "test-keeper")
    yield s
    s.close()


def fill(owner: str, tx: str, sold: int, got: int, limit: int) -> Fill:
    return Fill(
        tx_hash=tx,
        intent_id="0x" + owner[2:6] * 16,
        owner=owner,
        nonce=7,
        sells=(Leg(WETH, "WETH", sold, sold, sold / 1e18 * 3000.0, 18),),
        buys=(Leg(USDC, "USDC", limit, got, got / 1e6, 6),),
        fee=0,
        fee_token=None,
        fee_usd=0.0,
        gas_share=100_000,
        counterfactual=Counterfactual(
            own_received_usd=got / 1e6 - 5.0, own_gas=150_000, own_gas_usd=1.5,
            router02_received_usd=got / 1e6 - 40.0, router02_gas=87_310, router02_gas_usd=0.9,
        ),
    )  # fmt: skip


def settlement(tx: str, block: int, time: int, fills: tuple[Fill, ...]) -> Settlement:
    return Settlement(
        tx_hash=tx,
        bundle_hash="0x" + "cd" * 32,
        block_number=block,
        block_time=time,
        gas_used=200_000,
        effective_gas_price=3 * 10**9,
        eth_usd=3000.0,
        first_submitted_block=block - 2,
        flows={"tokens": {}, "swaps": []},
        fills=fills,
    )


def test_the_ledger_tables_come_with_the_store_schema(store):
    tables = set(inspect(store.engine).get_table_names())
    assert {"settlements", "settlement_fills", "strategy_events", "control_requests"} <= tables


def test_a_settlement_round_trips_with_its_fills_amounts_and_counterfactual(store):
    tx = "0x" + "ab" * 32
    s = settlement(
        tx, 100, 1_700_000_000, (fill(ALICE, tx, 2 * 10**18, 5_990 * 10**6, 5_900 * 10**6),)
    )
    assert store.ledger.add_settlement(s) is True
    assert store.ledger.add_settlement(s) is False  # recorded once
    back = store.ledger.settlement(tx.upper().replace("0X", "0x"))
    assert back is not None
    assert back.blocks_to_inclusion == 2
    assert back.gas_usd == pytest.approx(200_000 * 3e9 / 1e18 * 3000)
    (f,) = back.fills
    assert f.sells[0].amount == 2 * 10**18 and f.buys[0].amount == 5_990 * 10**6
    assert f.buys[0].limit == 5_900 * 10**6 and f.buys[0].whole == pytest.approx(5990.0)
    assert f.cost_usd == pytest.approx(6000.0 - 5990.0)
    # alone through our router it would have received $5 less and paid $1.50 of gas
    assert f.savings_usd == pytest.approx(5.0 + 1.5)
    assert f.router02_savings_usd == pytest.approx(40.0 + 0.9)


def test_settlements_filter_by_owner_and_month_newest_first(store):
    a, b = "0x" + "01" * 32, "0x" + "02" * 32
    store.ledger.add_settlement(settlement(a, 10, 1_000, (fill(ALICE, a, 10**18, 3 * 10**9, 1),)))
    store.ledger.add_settlement(
        settlement(
            b, 20, 2_000, (fill(ALICE, b, 10**18, 3 * 10**9, 1), fill(BOB, b, 10**18, 3 * 10**9, 1))
        )
    )
    assert [s.tx_hash for s in store.ledger.settlements()] == [b, a]
    bobs = store.ledger.settlements(owner=BOB)
    assert [s.tx_hash for s in bobs] == [b] and [f.owner for f in bobs[0].fills] == [BOB]
    assert [s.tx_hash for s in store.ledger.settlements(since=1_500)] == [b]
    assert [s.tx_hash for s in store.ledger.settlements(until=1_500)] == [a]


def test_decisions_are_kept_with_their_time_newest_first(store):
    store.ledger.add_event(ALICE, "decision", "no action: inside band")
    store.ledger.add_event(ALICE, "proposal", "rebalance to target", {"rebalance": True})
    events = store.ledger.events(ALICE)
    assert [e.kind for e in events] == ["proposal", "decision"]
    assert events[0].data == {"rebalance": True} and events[0].at >= events[1].at
    assert store.ledger.events(BOB) == []


def test_a_control_nonce_works_once_per_owner(store):
    store.ledger.use_control_nonce(ALICE, 42, "pause")
    store.ledger.use_control_nonce(BOB, 42, "pause")  # another owner's nonce space
    with pytest.raises(ControlReplayError, match="42"):
        store.ledger.use_control_nonce(ALICE.upper().replace("0X", "0x"), 42, "resume")
