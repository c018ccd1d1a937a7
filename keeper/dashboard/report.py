"""``keeper report``: one owner's month, from the ledger, as HTML and Markdown with PNG charts.

Sections: rebalances (each settlement with what was sold and received), costs by kind (trading
cost at mid prices — LP fees and price impact —, the keeper's fee, and the gas the keeper paid
for the owner's share), savings against one transaction of the owner alone through the keeper's
own router (and, as a second line, one Router02 transaction per leg), attribution of the
month's result, the decision log, and risk metrics when a price history is given.
"""

from __future__ import annotations

import html
from calendar import monthrange
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from keeper.dashboard.risk import RiskMetrics
from keeper.exceptions import KeeperError
from keeper.intents.ledger import Fill, Ledger, Settlement


class ReportError(KeeperError):
    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(f"{field}: {message}")


def parse_month(month: str) -> tuple[int, int]:
    """``YYYY-MM`` -> (first second, first second of the next month), UTC unix times."""
    try:
        start = datetime.strptime(month, "%Y-%m").replace(tzinfo=UTC)
    except ValueError:
        raise ReportError("month", f"expected YYYY-MM (e.g. 2026-11), got {month!r}") from None
    days = monthrange(start.year, start.month)[1]
    return int(start.timestamp()), int(start.timestamp()) + days * 86_400


@dataclass
class MonthSummary:
    owner: str
    month: str
    settlements: list[Settlement]
    fills: list[tuple[Settlement, Fill]] = field(default_factory=list)
    decisions: int = 0
    proposals: int = 0
    controls: int = 0
    risk: RiskMetrics | None = None

    @property
    def traded_usd(self) -> float:
        return sum(f.sold_usd for _, f in self.fills)

    @property
    def fees_usd(self) -> float:
        return sum(f.fee_usd for _, f in self.fills)

    @property
    def trading_usd(self) -> float:
        """LP fees and price impact at the block's mid prices (the cost less the keeper fee)."""
        return sum(f.cost_usd - f.fee_usd for _, f in self.fills)

    @property
    def gas_usd(self) -> float:
        return sum(f.gas_share * s.effective_gas_price / 1e18 * s.eth_usd for s, f in self.fills)

    @property
    def savings_usd(self) -> float:
        return sum(f.savings_usd for _, f in self.fills)

    @property
    def router02_savings_usd(self) -> float:
        return sum(f.router02_savings_usd for _, f in self.fills)

    @property
    def alone_usd(self) -> float:
        return sum(f.own_cost_usd for _, f in self.fills)

    @property
    def netting_usd(self) -> float:
        """The part of the savings that is better execution (received more than alone, at mid
        prices); the rest is gas the owner did not pay for a transaction of their own."""
        return sum(f.received_usd - f.counterfactual.own_received_usd for _, f in self.fills)


def summarise(ledger: Ledger, owner: str, month: str, start: int, end: int) -> MonthSummary:
    settlements = list(reversed(ledger.settlements(owner=owner, since=start, until=end)))
    summary = MonthSummary(owner=owner, month=month, settlements=settlements)
    summary.fills = [(s, f) for s in settlements for f in s.fills]
    for event in ledger.events(owner, limit=10_000, since=start):
        if event.at >= end:
            continue
        if event.kind == "decision":
            summary.decisions += 1
        elif event.kind == "proposal":
            summary.proposals += 1
        elif event.kind == "control":
            summary.controls += 1
    return summary


def _charts(summary: MonthSummary, folder: Path) -> list[tuple[str, str]]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    charts = []
    fig, ax = plt.subplots(figsize=(7, 3.2), dpi=110)
    kinds = ["LP fees + impact", "keeper fee", "gas (keeper paid)"]
    values = [summary.trading_usd, summary.fees_usd, summary.gas_usd]
    ax.barh(kinds, values, color=["#3b5bdb", "#e8590c", "#868e96"])
    ax.set_xlabel("USD")
    ax.set_title(f"Costs by kind, {summary.month}")
    for i, v in enumerate(values):
        ax.text(v, i, f" ${v:,.2f}", va="center")
    fig.tight_layout()
    fig.savefig(folder / f"{summary.month}-costs.png")
    plt.close(fig)
    charts.append(("Costs by kind", f"{summary.month}-costs.png"))

    fig, ax = plt.subplots(figsize=(7, 3.2), dpi=110)
    if summary.fills:
        days: Any = [datetime.fromtimestamp(s.block_time, UTC) for s, _ in summary.fills]
        own, naive, a, b = [], [], 0.0, 0.0
        for _, f in summary.fills:
            a += f.savings_usd
            b += f.router02_savings_usd
            own.append(a)
            naive.append(b)
        ax.step(days, own, where="post", label="vs one tx alone, own router", color="#3b5bdb")
        ax.step(days, naive, where="post", label="vs Router02 per leg", color="#adb5bd")
        ax.legend(loc="upper left", fontsize=8)
        fig.autofmt_xdate()
    else:
        ax.text(0.5, 0.5, "no settlement this month", ha="center", va="center")
    ax.set_ylabel("USD saved (cumulative)")
    ax.set_title(f"Savings of batching, {summary.month}")
    fig.tight_layout()
    fig.savefig(folder / f"{summary.month}-savings.png")
    plt.close(fig)
    charts.append(("Savings", f"{summary.month}-savings.png"))
    return charts


def _rows(summary: MonthSummary) -> list[list[str]]:
    rows = []
    for s, f in summary.fills:
        sold = ", ".join(f"{leg.whole:,.4f} {leg.symbol}" for leg in f.sells)
        got = ", ".join(f"{leg.whole:,.4f} {leg.symbol}" for leg in f.buys)
        day = datetime.fromtimestamp(s.block_time, UTC).strftime("%Y-%m-%d %H:%M")
        rows.append(
            [day, str(s.block_number), sold, got, f"${f.cost_usd:,.2f}", f"${f.savings_usd:,.2f}"]
        )
    return rows


HEADERS = ["time (UTC)", "block", "sold", "received", "cost", "saved"]


def _sections(summary: MonthSummary) -> list[tuple[str, list[tuple[str, str]]]]:
    alone = summary.alone_usd
    paid = summary.trading_usd + summary.fees_usd
    sections = [
        ("Rebalances", [
            ("settlements", str(len(summary.settlements))),
            ("traded", f"${summary.traded_usd:,.2f}"),
            ("decisions journaled / proposals / signed controls",
             f"{summary.decisions} / {summary.proposals} / {summary.controls}"),
        ]),
        ("Costs by kind", [
            ("trading (LP fees + price impact, at the block's mid prices)",
             f"${summary.trading_usd:,.2f}"),
            ("keeper fees", f"${summary.fees_usd:,.2f}"),
            ("gas of the owner's share (paid by the keeper)", f"${summary.gas_usd:,.2f}"),
        ]),
        ("Savings", [
            ("vs one transaction alone through our own router, same pools and block (fair)",
             f"${summary.savings_usd:,.2f}"),
            ("vs one Uniswap V2 Router02 transaction per leg (second line)",
             f"${summary.router02_savings_usd:,.2f}"),
        ]),
        ("Attribution of the rebalancing", [
            ("what the owner paid to rebalance (trading + fees)", f"${paid:,.2f}"),
            ("what the same trades would have cost alone (trading + own gas)", f"${alone:,.2f}"),
            ("saved by better execution than alone (netting between users)",
             f"${summary.netting_usd:,.2f}"),
            ("saved gas: no transaction of the owner's own",
             f"${summary.savings_usd - summary.netting_usd:,.2f}"),
        ]),
    ]  # fmt: skip
    risk = summary.risk
    if risk is not None and risk.volatility is not None:
        sections.append(
            (f"Risk (target allocation over {risk.days} daily closes)", [
                ("volatility (annualised)", f"{risk.volatility:.1%}"),
                (f"VaR / CVaR {risk.level:.0%} one day", f"{risk.var:.2%} / {risk.cvar:.2%}"),
                ("max drawdown", f"{risk.max_drawdown:.1%}"),
                ("Sharpe", f"{risk.sharpe:.2f}" if risk.sharpe is not None else "—"),
                ("EWMA volatility forecast", f"{risk.ewma_volatility:.1%}"),
                ("correlation shift", "shifted" if risk.correlation_shifted else "stable"),
            ])
        )  # fmt: skip
    return sections


def write_report(
    ledger: Ledger,
    owner: str,
    month: str,
    start: int,
    end: int,
    folder: Path,
    risk: RiskMetrics | None = None,
) -> tuple[Path, Path]:
    summary = summarise(ledger, owner, month, start, end)
    summary.risk = risk
    folder.mkdir(parents=True, exist_ok=True)
    charts = _charts(summary, folder)
    sections, rows = _sections(summary), _rows(summary)
    title = f"Rebalancing report {month} — {owner}"

    md = [f"# {title}"]
    for heading, lines in sections:
        md += ["", f"## {heading}", "", "| | |", "|---|---|"]
        md += [f"| {k} | {v} |" for k, v in lines]
    md += ["", "## Settlements", ""]
    if rows:
        md += ["| " + " | ".join(HEADERS) + " |", "|" + "---|" * len(HEADERS)]
        md += ["| " + " | ".join(r) + " |" for r in rows]
    else:
        md.append("No settlement this month.")
    md += [""] + [f"![{name}]({file})" for name, file in charts]
    md += ["", "Savings are a lower bound: the alternative quotes each leg on the same pool "
           "state, without the earlier legs' price impact."]  # fmt: skip
    markdown = folder / f"{month}.md"
    markdown.write_text("\n".join(md) + "\n")

    e = html.escape
    body = [f"<h1>{e(title)}</h1>"]
    for heading, lines in sections:
        body += [f"<h2>{e(heading)}</h2>", "<table class='summary'>"]
        body += [f"<tr><th>{e(k)}</th><td>{e(v)}</td></tr>" for k, v in lines]
        body.append("</table>")
    body.append("<h2>Settlements</h2>")
    if rows:
        body.append("<table><tr>" + "".join(f"<th>{e(h)}</th>" for h in HEADERS) + "</tr>")
        body += ["<tr>" + "".join(f"<td>{e(c)}</td>" for c in r) + "</tr>" for r in rows]
        body.append("</table>")
    else:
        body.append("<p>No settlement this month.</p>")
    body += [f"<h2>{e(name)}</h2><img src='{e(file)}' alt='{e(name)}'>" for name, file in charts]
    page = folder / f"{month}.html"
    page.write_text(
        "<!doctype html><html><head><meta charset='utf-8'><link rel='icon' href='data:,'>"
        f"<title>{e(title)}</title><style>body{{font:14px system-ui;max-width:900px;"
        "margin:24px auto}}table{{border-collapse:collapse;margin:8px 0}}td,th{{border-bottom:"
        "1px solid #ddd;padding:4px 10px;text-align:left}}img{{max-width:100%}}</style></head>"
        f"<body>{''.join(body)}</body></html>"
    )
    return page, markdown
