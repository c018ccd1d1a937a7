"""The dashboard in a real headless Chromium, against a running keeper on the local market:
the owner's drift, a settled rebalance in the history with its amounts and gas, a pending
intent's state, and controls that only the owner's signature can use."""

from __future__ import annotations

import json
import re

import pytest

from keeper.dashboard.browser import page_errors
from keeper.devstack.dashboard_demo import TARGETS

pytestmark = [pytest.mark.fork, pytest.mark.slow]


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1360, "height": 900})
    p = context.new_page()
    p.set_default_timeout(60_000)
    errors = page_errors(p)
    p.errors = errors  # type: ignore[attr-defined]
    yield p
    context.close()
    assert errors == [], errors  # no console error on any page a test opened


def settled_events(scenario):
    from keeper.settlement.abi import executor_abi
    from keeper.settlement.outcome import SettledEvents

    receipt = scenario.stack.w3.eth.get_transaction_receipt(scenario.tx_hash)
    logs = [dict(log) for log in receipt["logs"]]
    return receipt, SettledEvents(executor_abi()).decode(logs, scenario.stack.executor)


def percent(text: str) -> float:
    return float(re.sub(r"[^\d.+-]", "", text))


def test_the_portfolio_page_shows_the_owners_drift(scenario, page):
    from keeper.strategy.config import load_strategy
    from keeper.strategy.live.evaluation import load_portfolio

    cfg = load_strategy(scenario.strategy_file)
    page.goto(f"{scenario.url}/portfolio/{scenario.alice.address}")
    weights = load_portfolio(scenario.stack.w3, scenario.stack.market, cfg, scenario.alice.address)
    drifts = {s: weights.weights.get(s, 0.0) - TARGETS[s] for s in TARGETS}
    expected = max(abs(d) for d in drifts.values())
    assert expected > 0.05  # she is outside her band, and the page says so
    assert percent(page.inner_text("#max-drift")) == pytest.approx(100 * expected, abs=0.3)
    assert percent(page.inner_text("#drift-vs-trigger")) == pytest.approx(
        100 * expected / 0.05, abs=8
    )
    weth = page.locator("tr[data-symbol='WETH']")
    assert "out" in (weth.get_attribute("class") or "")
    assert percent(weth.locator(".drift").inner_text()) == pytest.approx(
        100 * drifts["WETH"], abs=0.3
    )
    assert page.inner_text("#next-when") == "now"  # outside the band: rebalance now
    # the opportunity pipeline is shown (this strategy has no yield source, and says so)
    assert page.locator("#opportunities").is_visible()
    assert page.inner_text("#opportunity-summary").startswith("No yield gaps seen")


def test_a_settled_rebalance_appears_in_history_with_amounts_and_gas(scenario, page):
    receipt, events = settled_events(scenario)
    mine = next(e for e in events if e.owner == scenario.alice.address)
    legs = sum(len(e.sold) for e in events)
    gas_share = int(receipt["gasUsed"]) * len(mine.sold) // legs
    page.goto(f"{scenario.url}/portfolio/{scenario.alice.address}")
    row = page.locator(f"tr[data-tx='{scenario.tx_hash.lower()}']")
    assert row.locator(".sold").inner_text().strip() == f"{mine.sold[0] / 1e18:,.4f} WETH"
    received = row.locator(".received").inner_text()
    assert received.startswith(f"{mine.received[0] / 1e6:,.2f} USDC")
    assert f"{gas_share:,} gas" in row.locator(".gas").inner_text()

    row.locator("a").first.click()
    page.wait_for_url(re.compile(r"/settlements/0x"))
    assert page.inner_text("#gas-used") == f"{int(receipt['gasUsed']):,}"
    assert page.locator("#flows tbody tr").count() >= 2


def test_a_pending_intent_shows_its_state(scenario, page):
    page.goto(f"{scenario.url}/portfolio/{scenario.alice.address}")
    row = page.locator(f"tr[data-intent='{scenario.pending_id}']")
    assert row.locator(".state").inner_text() == "accepted"
    for intent_id in scenario.settled_ids:  # settled ones are history, not pending
        assert page.locator(f"tr[data-intent='{intent_id}']").count() == 0


def test_the_keeper_page_shows_the_live_daemon(scenario, page):
    page.goto(f"{scenario.url}/keeper")
    block = int(page.inner_text("#last-block"))
    assert block >= int(settled_events(scenario)[0]["blockNumber"])
    assert page.inner_text("#breaker").startswith("running")
    assert scenario.tx_hash.lower()[:10] in page.inner_text("#recent")


def prepare(page, action: str) -> None:
    """Ask the page for a new control request; the old typed data is cleared first, so that
    sign_prepared waits for the new request (with its new nonce), never signs the previous one."""
    page.eval_on_selector("#typed-data", "e => { e.value = ''; }")
    page.click(f"button[data-action='{action}']")


def sign_prepared(page, account, scenario) -> None:
    from keeper.dashboard.controls import ControlRequest, sign

    page.wait_for_function("document.getElementById('typed-data').value.length > 0")
    typed = json.loads(page.input_value("#typed-data"))
    request = ControlRequest.model_validate(typed["message"])
    chain_id, executor = typed["domain"]["chainId"], typed["domain"]["verifyingContract"]
    page.fill("#signature", sign(request, account, chain_id, executor))


def test_a_control_signed_by_the_owner_pauses_and_one_signed_by_someone_else_is_refused(
    scenario, page
):
    from keeper.strategy.controls import ControlStore

    controls = ControlStore(scenario.state_file)
    page.goto(f"{scenario.url}/portfolio/{scenario.alice.address}")
    prepare(page, "pause")
    sign_prepared(page, scenario.bob, scenario)  # someone else signs
    page.click("#send-control")
    page.wait_for_function(
        "document.getElementById('control-result').textContent.startsWith('Refused')"
    )
    result = page.inner_text("#control-result")
    assert result.startswith("Refused: signature: signed by " + scenario.bob.address), result
    assert controls.load().paused is False
    # the browser logs the refused request (HTTP 403) and nothing else
    assert len(page.errors) == 1 and "403" in page.errors[0], page.errors
    page.errors.clear()

    prepare(page, "pause")
    sign_prepared(page, scenario.alice, scenario)
    page.click("#send-control")
    page.wait_for_function(
        "document.getElementById('control-result').textContent.startsWith('Done')"
    )
    assert controls.load().paused is True
    assert page.inner_text("#paused-badge") == "paused"
    page.reload()
    assert page.inner_text("#next-when") == "paused"


def test_screenshots_of_the_three_pages_render_without_console_errors(scenario, browser, tmp_path):
    from keeper.dashboard.browser import capture

    pages = {
        "portfolio": f"{scenario.url}/portfolio/{scenario.alice.address}",
        "settlement": f"{scenario.url}/settlements/{scenario.tx_hash}",
        "keeper": f"{scenario.url}/keeper",
    }
    written = capture(browser, pages, tmp_path)  # raises on a console error or an error answer
    assert [w.name for w in written] == [f"dashboard-{n}.png" for n in pages]
    for path in written:
        data = path.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000, path


def test_keeper_report_writes_the_month_and_the_portfolio_links_to_it(scenario, page):
    import time

    from click.testing import CliRunner

    from keeper.cli import cli

    stamp = scenario.stack.w3.eth.get_block("latest")["timestamp"]
    month = time.strftime("%Y-%m", time.gmtime(stamp))
    env = {"KEEPER_DATA_DIR": str(scenario.data_dir)}
    folder = scenario.reports_dir / scenario.alice.address.lower()
    args = ["report", "--owner", scenario.alice.address, "--month", month, "--out", str(folder)]
    result = CliRunner().invoke(cli, args, env=env)
    assert result.exit_code == 0, result.output
    markdown = (folder / f"{month}.md").read_text()
    _, events = settled_events(scenario)
    mine = next(e for e in events if e.owner == scenario.alice.address)
    assert "| settlements | 1 |" in markdown
    assert "## Attribution of the rebalancing" in markdown
    assert f"{mine.sold[0] / 1e18:,.4f} WETH" in markdown
    for png in (f"{month}-costs.png", f"{month}-savings.png"):
        assert (folder / png).stat().st_size > 5_000
    page.goto(f"{scenario.url}/portfolio/{scenario.alice.address}")
    page.click(f".reports a[href$='/{month}.html']")
    page.wait_for_url(f"**/reports/**/{month}.html")
    assert "Rebalancing report" in page.inner_text("h1")
    assert page.locator("img").count() == 2


def test_keeper_report_refuses_a_malformed_month():
    from click.testing import CliRunner

    from keeper.cli import cli

    result = CliRunner().invoke(cli, ["report", "--owner", "0x" + "11" * 20, "--month", "2026-13"])
    assert result.exit_code == 1
    assert result.output.strip() == "error: month: expected YYYY-MM (e.g. 2026-11), got '2026-13'"


def test_the_owner_resumes_from_the_command_line_and_a_standalone_dashboard_reads_the_store(
    scenario,
):
    """``keeper dashboard control`` signs as the owner (an Ape test account); ``keeper
    dashboard serve`` serves the same store without a daemon in its process."""
    import os
    import signal
    import subprocess
    import sys

    import requests

    from keeper.chain.anvil import free_port
    from keeper.daemon.daemon import wait_for
    from keeper.strategy.controls import ControlStore

    ControlStore(scenario.state_file).pause()
    control = subprocess.run(
        [sys.executable, "-m", "keeper.cli", "dashboard", "control", "resume", "--url",
         scenario.url, "--owner", scenario.alice.address, "--signer", "TEST::2"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert control.returncode == 0, control.stderr
    assert json.loads(control.stdout)["paused"] is False
    assert ControlStore(scenario.state_file).load().paused is False
    stranger = subprocess.run(
        [sys.executable, "-m", "keeper.cli", "dashboard", "control", "pause", "--url",
         scenario.url, "--owner", scenario.alice.address, "--signer", "TEST::3"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert stranger.returncode == 1
    assert stranger.stderr.strip().startswith("error: refused: signature: signed by 0x")
    assert ControlStore(scenario.state_file).load().paused is False

    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEEPER_")}
    env["KEEPER_DATA_DIR"] = str(scenario.data_dir)
    proc = subprocess.Popen(
        [sys.executable, "-m", "keeper.cli", "dashboard", "serve", "--rpc-url",
         scenario.stack.anvil.url, "--deployments", str(scenario.stack.deployments_file),
         "--port", str(port)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        url = f"http://127.0.0.1:{port}/api/keeper"

        def up() -> bool:
            try:
                return requests.get(url, timeout=2).ok
            except requests.RequestException:
                return proc.poll() is not None

        assert wait_for(up, 60) and proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        body = requests.get(url, timeout=10).json()
        assert body["live"] is False and body["intents_by_state"]["accepted"] == 1
        assert scenario.tx_hash.lower() in [s["tx_hash"] for s in body["settlements"]]
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(20)
