"""The portfolio page and its JSON twin on the forked market (a real chain, Alice's real
balances; tests/conftest.py PORTFOLIOS): the opportunity pipeline with the yield gaps seen and
the threshold, the risk panel as the backtester computes it, and performance attributed
against buy-and-hold over a recorded history with one settlement of hers."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
import yaml
from fastapi.testclient import TestClient

from keeper.backtest import metrics
from keeper.config import DashboardOwner, DashboardSettings
from keeper.dashboard.app import create_app
from keeper.dashboard.context import DashboardContext
from keeper.intents.ledger import Fill, Leg, Settlement
from keeper.intents.store import IntentStore
from keeper.strategy.live.history import PriceHistory

pytestmark = pytest.mark.fork

EXECUTOR = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
SYMBOLS = ("DAI", "USDC", "WBTC", "WETH")
TARGETS = {"WETH": 0.4, "WBTC": 0.2, "USDC": 0.3, "DAI": 0.1}
DAYS = 30
#: USDC and DAI are held (40k and 10k): the APY held is (40k x 2 % + 10k x 6 %) / 50k = 2.8 %
YIELDS = [
    {"venue": "USDC", "apy": 0.02, "liquidity_usd": 5e6},
    {"venue": "DAI", "apy": 0.06, "liquidity_usd": 5e6},  # gap 3.2 %: eligible
    {"venue": "USDT", "apy": 0.04, "liquidity_usd": 1_000},  # gap 1.2 %, too little liquidity
]


def write_strategy(folder, yields):
    spec = {
        "name": "alice-page",
        "preset": "custom",
        "band": 0.05,
        "targets": TARGETS,
        "triggers": {"calendar": {"enabled": False}},
        "history": {"path": "prices.db"},
    }
    if yields is not None:
        (folder / "yields.json").write_text(json.dumps({"venues": yields}))
        spec["triggers"]["opportunity"] = {
            "enabled": True,
            "min_yield_gap": 0.005,
            "source": {"kind": "file", "path": "yields.json"},
        }
    (folder / "alice.yaml").write_text(yaml.safe_dump(spec))


@pytest.fixture
def page(tmp_path, chain, market, alice):
    w3 = chain.provider.web3
    now = int(w3.eth.get_block("latest")["timestamp"])
    today = now // 86_400
    history = PriceHistory(tmp_path / "prices.db", int(chain.chain_id))
    rng = np.random.default_rng(11)
    reference = {s: market.token(s).usd_price for s in SYMBOLS}
    for i in range(DAYS):  # closes up to yesterday
        move = {"WETH": 0.04, "WBTC": 0.035, "USDC": 0.001, "DAI": 0.001}
        history.record(
            {s: reference[s] * float(np.exp(rng.normal(0, move[s]))) for s in SYMBOLS},
            (today - DAYS + i) * 86_400 + 43_200,
        )
    write_strategy(tmp_path, YIELDS)
    store = IntentStore(f"sqlite:///{tmp_path / 'intents.db'}", "page-test")
    weth, usdc = market.token("WETH"), market.token("USDC")
    tx = "0x" + "ab" * 32
    fill = Fill(
        tx_hash=tx, intent_id="0x" + "cc" * 32, owner=alice.address, nonce=1,
        sells=(Leg(weth.address, "WETH", 10**18, 10**18, 3_000.0, 18),),
        buys=(Leg(usdc.address, "USDC", 2_950 * 10**6, 2_990 * 10**6, 2_990.0, 6),),
        fee=0, fee_token=None, fee_usd=0.0, gas_share=100_000,
    )  # fmt: skip
    store.ledger.add_settlement(
        Settlement(
            tx_hash=tx, bundle_hash=None, block_number=1, block_time=now - 2 * 86_400,
            gas_used=100_000, effective_gas_price=10**9, eth_usd=3_000.0,
            first_submitted_block=None, flows={}, fills=(fill,),
        )
    )  # fmt: skip
    owner = DashboardOwner(
        owner=alice.address, strategy=tmp_path / "alice.yaml", state=tmp_path / "state.json"
    )
    ctx = DashboardContext(
        settings=DashboardSettings(owners=[owner]), store=store, chain_id=int(chain.chain_id),
        executor=EXECUTOR, w3=w3, market=market,
    )  # fmt: skip
    yield TestClient(create_app(ctx)), tmp_path, history
    store.close()


def test_the_api_lists_the_yield_gaps_seen_with_the_threshold(page, alice):
    client, _, _ = page
    body = client.get(f"/api/owners/{alice.address}/portfolio").json()
    assert body["opportunity_threshold"] == 0.005
    seen = {o["venue"]: o for o in body["opportunities"]}
    assert [o["venue"] for o in body["opportunities"]] == ["DAI", "USDT", "USDC"]  # by APY
    held = sum(w["weight"] * {"USDC": 0.02, "DAI": 0.06}[w["symbol"]] for w in body["weights"]
               if w["symbol"] in ("USDC", "DAI")) / sum(
        w["weight"] for w in body["weights"] if w["symbol"] in ("USDC", "DAI"))  # fmt: skip
    assert held == pytest.approx(0.028, abs=0.002)
    assert seen["DAI"]["gap"] == pytest.approx(0.06 - held)
    assert seen["DAI"]["eligible"] is True and seen["DAI"]["threshold"] == 0.005
    assert seen["USDT"]["gap"] > 0.005 and seen["USDT"]["eligible"] is False  # illiquid
    assert seen["USDC"]["gap"] < 0 and seen["USDC"]["eligible"] is False


def test_the_page_shows_the_yield_gaps_and_says_when_there_are_none(page, alice):
    client, folder, _ = page
    html = client.get(f"/portfolio/{alice.address}").text
    panel = html[html.index('id="opportunities"') : html.index('id="controls"')]
    assert "1 venue</strong> yields at least 0.50% more than what is held" in panel
    dai = re.search(r'<tr data-venue="DAI">(.*?)</tr>', panel).group(1)
    assert "6.00%" in dai and "≥ 0.50%" in dai
    usdt = re.search(r'<tr data-venue="USDT">(.*?)</tr>', panel).group(1)
    assert "below 0.50% (too little liquidity)" in usdt

    write_strategy(folder, [dict(y, apy=0.02) for y in YIELDS])  # every venue as held
    panel = client.get(f"/portfolio/{alice.address}").text.split('id="opportunities"')[1]
    assert "No yield gap at or above the threshold of 0.50%: nothing to move." in panel

    write_strategy(folder, None)  # no yield source
    panel = client.get(f"/portfolio/{alice.address}").text.split('id="opportunities"')[1]
    assert "No yield gaps seen: no yield source is configured" in panel
    assert client.get(f"/api/owners/{alice.address}/portfolio").json()["opportunities"] == []


def test_the_risk_panel_is_the_backtesters_metrics_of_the_holding(page, alice, market):
    client, _, history = page
    body = client.get(f"/api/owners/{alice.address}/portfolio").json()
    closes = history.daily_prices(SYMBOLS)
    amounts = {w["symbol"]: w["amount"] for w in body["weights"]}
    values = closes @ np.array([amounts[s] for s in SYMBOLS])
    ref = metrics.compute(values, (len(values) - 1) / 365, 365)
    risk = body["risk"]
    assert risk["days"] == DAYS
    for key, expected in (("volatility", ref.volatility), ("var", ref.var95),
                          ("cvar", ref.cvar95), ("max_drawdown", ref.max_drawdown),
                          ("sharpe", ref.sharpe)):  # fmt: skip
        assert risk[key] == pytest.approx(expected, rel=1e-9), key


def test_performance_is_attributed_against_buy_and_hold_of_the_start(page, alice):
    client, _, _ = page
    body = client.get(f"/api/owners/{alice.address}/portfolio").json()
    a = body["performance"]["attribution"]
    assert a["samples"] == DAYS + 1 and a["settlements"] == 1, a["note"]
    assert a["rebalanced_usd"] == pytest.approx(body["value_usd"], rel=1e-9)  # holdings now
    # buy-and-hold kept the WETH she sold and never got the USDC
    prices = {w["symbol"]: w["price_usd"] for w in body["weights"]}
    assert a["rebalanced_usd"] - a["buy_and_hold_usd"] == pytest.approx(
        2_990 - prices["WETH"], rel=1e-6
    )
    assert a["difference_usd"] == pytest.approx(a["rebalancing_effect_usd"] + a["costs_effect_usd"])
    assert a["costs_paid"]["lp_fees_and_impact_usd"] == pytest.approx(10.0)
    assert a["costs_paid"]["surplus_usd"] == pytest.approx(40 / 2_990 * 2_990)
    assert len(a["curve"]) == DAYS + 1 and a["rebalanced"]["volatility"] > 0
    html = client.get(f"/portfolio/{alice.address}").text
    assert 'id="attribution"' in html and "rebalancing effect" in html
    assert 'data-labels=\'["rebalanced", "buy-and-hold"]\'' in html
