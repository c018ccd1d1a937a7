"""``make screenshots``: PNGs of the dashboard's three pages into docs/ (a real ``keeper run``
on the local market, the dashboard demo's scenario with SIMULATED price history for the risk
panel, this month's report written first so the portfolio page links to it)."""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path
from typing import Any


def write_month_report(s: Any, month: str) -> tuple[Path, Path]:
    """What ``keeper report`` writes for the scenario's owner (with the risk section)."""
    from keeper.config import DashboardOwner, DashboardSettings, KeeperSettings
    from keeper.dashboard.cli import month_risk
    from keeper.dashboard.report import parse_month, write_report
    from keeper.intents.store import IntentStore

    owner = s.alice.address
    entry = DashboardOwner(owner=owner, strategy=s.strategy_file, state=s.state_file)
    settings = KeeperSettings(chain_id=1, dashboard=DashboardSettings(owners=[entry]))
    start, end = parse_month(month)
    store = IntentStore(f"sqlite:///{s.data_dir / 'intents.db'}", "screenshots")
    try:
        risk = month_risk(settings, owner, start, end)
        return write_report(
            store.ledger, owner, month, start, end, s.reports_dir / owner.lower(), risk
        )
    finally:
        store.close()


def main(out_dir: str = "docs") -> int:
    from playwright.sync_api import sync_playwright

    from keeper.dashboard.browser import capture, launch
    from keeper.devstack.dashboard_demo import dashboard_scenario

    with (
        tempfile.TemporaryDirectory(prefix="keeper-screens-") as tmp,
        dashboard_scenario(Path(tmp), simulated_days=120) as s,
    ):
        month = time.strftime("%Y-%m", time.gmtime(s.stack.w3.eth.get_block("latest")["timestamp"]))
        write_month_report(s, month)
        pages = {
            "portfolio": f"{s.url}/portfolio/{s.alice.address}",
            "settlement": f"{s.url}/settlements/{s.tx_hash}",
            "keeper": f"{s.url}/keeper",
        }
        with sync_playwright() as p:
            browser = launch(p)
            try:
                written = capture(browser, pages, Path(out_dir))
            finally:
                browser.close()
    for path in written:
        print(f"wrote {path} ({path.stat().st_size:,} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
