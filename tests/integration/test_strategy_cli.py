"""`keeper portfolio show`, `keeper propose`, `keeper strategy record-prices` and `keeper
strategy watch` against a running local stack (real anvil with the seeded market, a real
`keeper run` process for completions, real HTTP for the webhook)."""

from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
import requests
from click.testing import CliRunner

from keeper.cli import cli
from keeper.devstack.localstack import KeeperProcess
from tests.integration.test_strategy_keeper import strategy_stack, wait_settled

pytestmark = [pytest.mark.fork, pytest.mark.slow]

stack = pytest.fixture(scope="module")(strategy_stack)

GENERAL = "targets: {WETH: 0.30, WBTC: 0.20, USDC: 0.35, DAI: 0.15}"


def strategy_file(tmp_path, targets: str = GENERAL, extra: str = "") -> str:
    path = tmp_path / "strategy.yaml"
    path.write_text(
        "name: cli\npreset: custom\nband: 5%\n"
        f"{targets}\ntriggers: {{calendar: {{enabled: false}}}}\n{extra}"
    )
    return str(path)


def run(stack, *args: str) -> str:
    chain = ["--rpc", stack.anvil.url, "--deployments", str(stack.deployments_file)]
    result = CliRunner().invoke(cli, [*args, *chain], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_portfolio_show_prints_weights_targets_and_drift(stack, tmp_path):
    carol = stack.users[2].address
    out = run(stack, "portfolio", "show", "--strategy", strategy_file(tmp_path), "--owner", carol)
    rows = {line.split()[0]: line for line in out.splitlines()[1:-1]}
    weth = rows["WETH"].split()
    assert weth[1] == "20.000000"
    value = float(weth[2].replace(",", ""))
    assert value == pytest.approx(60_000, rel=0.01)
    assert float(weth[3].rstrip("%")) == pytest.approx(38.71, abs=0.1)
    assert weth[4] == "30.00%" and float(weth[5].rstrip("%")) == pytest.approx(8.71, abs=0.1)
    assert rows["WETH"].endswith("<- outside band") and rows["DAI"].endswith("<- outside band")
    total = float(re.search(r"total value \$([\d,.]+)", out).group(1).replace(",", ""))
    assert total == pytest.approx(155_000, rel=0.01)
    assert out.splitlines()[-1].endswith("band 5.0%")


def test_propose_prints_the_decision_line_and_writes_the_unsigned_intents(stack, tmp_path):
    carol = stack.users[2].address
    intents = tmp_path / "intents.json"
    history = tmp_path / "prices.db"
    out = run(
        stack,
        "propose",
        "--strategy",
        strategy_file(tmp_path),
        "--owner",
        carol,
        "--nonce",
        "11",
        "--history",
        str(history),
        "--out",
        str(intents),
    )
    line = out.splitlines()[0]
    assert re.match(r"USDC 25\.8% vs 35\.0% target, band 5\.0%: rebalance to ", line), line
    assert re.search(r"cost \$[\d,.]+ < benefit \$[\d,.]+", line), line
    # the history had one close (recorded by this run): the fallback is explicit
    assert line.endswith(
        "[price history: 1 daily close(s), need 21: default volatility 80% (stablecoins 1%)]"
    )
    assert re.search(r"sell [\d.,]+ WETH -> buy >= [\d.,]+ (USDC|DAI)", out)
    (intent,) = json.loads(intents.read_text())
    assert intent["owner"] == carol and intent["nonce"] == "11"
    assert len(intent["sells"]) == 2 and len(intent["buys"]) == 2


def test_propose_inside_the_band_says_no_action(stack, tmp_path):
    carol = stack.users[2].address
    near = "targets: {WETH: 0.37, WBTC: 0.28, USDC: 0.28, DAI: 0.07}"
    out = run(
        stack, "propose", "--strategy", strategy_file(tmp_path, near), "--owner", carol,
        "--nonce", "12",
    )  # fmt: skip
    assert out.splitlines()[0].startswith("USDC 25.8% vs 28.0% target, band 5.0%: no action, ")
    assert "inside band" in out and "unsigned" not in out


def test_record_prices_keeps_one_close_per_day(stack, tmp_path):
    file = strategy_file(tmp_path, extra="history: {path: prices.db}\n")
    out = run(stack, "strategy", "record-prices", "--strategy", file)
    assert out.startswith("recorded 4 price(s) into ")
    assert out.rstrip().endswith("daily closes: DAI 1, USDC 1, WBTC 1, WETH 1")
    out = run(stack, "strategy", "record-prices", "--strategy", file)  # same day: the close moves
    assert out.rstrip().endswith("daily closes: DAI 1, USDC 1, WBTC 1, WETH 1")


class _Capture(BaseHTTPRequestHandler):
    received: list[dict] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _Capture.received.append(json.loads(body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def webhook():
    server = HTTPServer(("127.0.0.1", 0), _Capture)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Capture.received = []
    yield f"http://127.0.0.1:{server.server_port}/alerts", _Capture.received
    server.shutdown()


def test_watch_alerts_the_proposal_and_then_confirms_its_completion(stack, tmp_path, webhook):
    from keeper.intents.signing import sign_intent
    from keeper.intents.types import RebalanceIntent
    from keeper.intents.validation import SignedIntent

    url, received = webhook
    carol = stack.users[2]
    outbox = tmp_path / "outbox.json"
    with KeeperProcess(stack, tmp_path / "keeper") as keeper:
        args = [
            "strategy", "watch", "--strategy", strategy_file(tmp_path), "--owner", carol.address,
            "--state", str(tmp_path / "carol.json"), "--outbox", str(outbox), "--keeper-url",
            keeper.url, "--webhook", url, "--rounds", "1",
        ]  # fmt: skip
        out = run(stack, *args)
        assert out.startswith("[scheduled] USDC 25.8% vs 35.0% target, band 5.0%: rebalance"), out
        (proposal,) = received
        assert proposal["kind"] == "scheduled" and proposal["owner"] == carol.address
        assert proposal["data"]["outbox"] == str(outbox)
        # the user reviews the outbox, signs and submits
        ids = []
        for raw in json.loads(outbox.read_text()):
            intent = RebalanceIntent.model_validate(raw)
            signature = sign_intent(intent, carol, stack.chain_id)
            body = SignedIntent(intent=intent, signature=signature, chain_id=stack.chain_id)
            answer = requests.post(f"{keeper.url}/intents", json=body.to_wire(), timeout=10)
            assert answer.status_code == 201, answer.text
            ids.append(answer.json()["id"])
        (record,) = wait_settled(keeper, ids)
        out = run(stack, *args)
        assert f"[completion] rebalance intent {ids[0][:10]}… settled in tx " in out
        assert received[-1]["kind"] == "completion"
        assert received[-1]["data"] == {"id": ids[0], "tx_hash": record["tx_hash"]}
        # reported once: the next round has nothing new to confirm (and weights are in band)
        out = run(stack, *args)
        assert "[completion]" not in out and "[scheduled]" not in out
        assert keeper.stop() == 0


def test_imported_history_makes_propose_run_kelly_regime_and_volatility(stack, tmp_path):
    import numpy as np

    from keeper.backtest.data import write_prices
    from keeper.backtest.synthetic import synthetic_prices

    # 200 daily closes ending yesterday (chain time); today's close is the live sample
    today = np.datetime64(int(stack.w3.eth.get_block("latest")["timestamp"]) // 86_400, "D")
    table = synthetic_prices(
        days=199, seed=3, tokens=("WBTC", "WETH"), stable=("USDC",), start=str(today - 200)
    )
    csv = tmp_path / "prices.csv"
    write_prices(table, csv)
    history = tmp_path / "prices.db"
    result = CliRunner().invoke(cli, ["history", "import", str(csv), "--history", str(history)])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("imported 600 close(s) of WBTC, WETH, USDC from ")
    targets = "targets: {WETH: 0.40, WBTC: 0.30, USDC: 0.30}"
    extra = (
        "model: {kind: kelly, cash_asset: USDC, lookback_days: 90}\n"
        "triggers: {calendar: {enabled: false}, volatility: {enabled: true}, "
        "regime: {enabled: true}}\n"
    )
    path = tmp_path / "kelly.yaml"
    path.write_text(f"name: kelly\npreset: custom\nband: 5%\n{targets}\n{extra}")
    carol = stack.users[2].address
    out = run(
        stack, "propose", "--strategy", str(path), "--owner", carol, "--nonce", "13",
        "--history", str(history),
    )  # fmt: skip
    line = out.splitlines()[0]
    assert "price history" not in line and "not enough price history" not in line, line
    assert re.search(r"volatility \d+% = [\d.]+x its \d+-day level", line), line
    # Kelly's targets from the history, not the configured 40/30/30
    assert re.search(r"vs \d+\.\d% target", line) and not re.search(r"vs (40|30)\.0% ", line)
    assert re.search(r"market (mean-reverting|random-walk|trending) \(VR=", line), line
