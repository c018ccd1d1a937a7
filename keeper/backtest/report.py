"""A study as rows: the terminal table (rich) and the HTML report share them."""

from __future__ import annotations

import html
import math
from pathlib import Path
from typing import TYPE_CHECKING

from keeper.backtest.regimes import REGIMES

if TYPE_CHECKING:
    from rich.console import Console

    from keeper.backtest.runner import PolicyRun, Study

SUMMARY_COLUMNS = (
    "policy",
    "final $",
    "total",
    "annual",
    "vol",
    "max DD",
    "Sharpe",
    "Sortino",
    "Calmar",
    "VaR95",
    "CVaR95",
    "VaR99",
    "CVaR99",
    "turnover/yr",
    "rebal.",
    "gas $",
    "fees $",
    "impact $",
    "MEV $",
    "vs hold",
    "drift avoided",
    "reb. premium",
    "costs",
)


#: the summary's columns in three tables that fit a terminal: performance, tail risk and
#: costs, attribution (the first column, the policy, repeats)
GROUPS = (
    ("performance", (0, 1, 2, 3, 4, 5, 6, 7, 8, 14, 13)),
    ("tail risk (1 bar) and costs paid (USD)", (0, 9, 10, 11, 12, 15, 16, 17, 18)),
    ("attribution vs buy-and-hold (log points)", (0, 19, 20, 21, 22)),
)


def _pct(x: float) -> str:
    return "—" if math.isnan(x) else f"{x * 100:+.1f}%"


def _pos(x: float) -> str:
    return f"{x * 100:.1f}%"


def _money(x: float) -> str:
    return f"{x:,.0f}"


def size_label(value: float) -> str:
    return f"${value:,.0f}"


def summary_rows(study: Study, value: float) -> list[list[str]]:
    rows = []
    for run in study.by_value(value):
        rows.append(_summary(run))
    return rows


def _summary(run: PolicyRun) -> list[str]:
    r = run.result
    m = r.metrics
    c = r.costs_by_kind
    a = run.attribution
    att = (
        [_pct(a.total), _pct(a.drift_avoided), _pct(a.premium), _pct(a.costs)]
        if a is not None
        else ["—"] * 4
    )
    return [
        run.name,
        _money(r.final_value),
        _pct(m.total_return),
        _pct(m.annual_return),
        _pos(m.volatility),
        _pos(m.max_drawdown),
        f"{m.sharpe:.2f}",
        f"{m.sortino:.2f}",
        f"{m.calmar:.2f}",
        _pos(m.var95),
        _pos(m.cvar95),
        _pos(m.var99),
        _pos(m.cvar99),
        f"{r.turnover:.2f}",
        str(r.rebalances),
        _money(c["gas"]),
        _money(c["fees"]),
        _money(c["impact"]),
        _money(c["mev"]),
        *att,
    ]


def regime_rows(study: Study, value: float, full: bool = True) -> tuple[list[str], list[list[str]]]:
    """Rows: regime (windows); columns: per policy mean return (and, ``full``, volatility and
    max drawdown)."""
    names = [r.name for r in study.by_value(value)]
    header = ["regime (windows)", *names]
    rows = []
    for regime in REGIMES:
        cells = [study.regimes[(value, n)][regime] for n in names if (value, n) in study.regimes]
        if not cells:
            continue
        row = [f"{regime} ({cells[0].windows})"]
        for cell in cells:
            if cell.windows == 0:
                row.append("—")
            elif not full:
                row.append(_pct(cell.mean_return))
            else:
                row.append(
                    f"{_pct(cell.mean_return)} / vol {_pos(cell.mean_volatility)} / "
                    f"DD {_pos(cell.mean_max_drawdown)}"
                )
        rows.append(row)
    return header, rows


def walk_line(study: Study, value: float) -> str | None:
    wf = study.walk.get(value)
    if wf is None:
        return None
    bands = ", ".join(f"{b:.0%}" for _, _, b in wf.steps)
    v0 = wf.values[0]
    start, end = study.table.day(wf.steps[0][0]), study.table.day(wf.steps[-1][1])
    return (
        f"walk-forward, out of sample only ({start} to {end}; threshold band tuned on the "
        f"previous 2 years, traded the next year): tuned {_pct(wf.final / v0 - 1)} vs fixed 5% "
        f"band {_pct(wf.fixed_values[-1] / v0 - 1)} over the same stretches; bands chosen: "
        f"{bands}"
    )


def notes(study: Study) -> list[str]:
    t = study.table
    out = [
        f"prices: {t.source}, {t.day(0)} to {t.day(t.bars - 1)}, {t.bars} bars, "
        f"tokens {', '.join(t.tokens)}; targets "
        + ", ".join(f"{k} {w:.0%}" for k, w in zip(t.tokens, study.targets, strict=True)),
    ]
    if study.synthetic:
        out.append(
            "SYNTHETIC prices from the seeded generator (no --prices given): evidence about the "
            "policies under its assumptions, not about any real market"
        )
    for g in t.gaps:
        out.append(f"data gap (not filled; returns span it): {g}")
    out.append(
        "attribution vs buy-and-hold in log points: drift avoided + rebalancing premium + "
        "costs = vs hold (docs/BACKTESTS.md)"
    )
    return out


def print_study(study: Study, console: Console) -> None:
    from rich.table import Table

    for line in notes(study):
        console.print(line)
    for value in study.values:
        rows = summary_rows(study, value)
        for title, cols in GROUPS:
            table = Table(
                title=f"{size_label(value)} portfolio, {title}"
                + (f" — costs: {study.costs[value].label}" if cols[1] == 1 else ""),
                title_justify="left",
            )
            for i in cols:
                table.add_column(SUMMARY_COLUMNS[i], justify="left" if i == 0 else "right")
            for row in rows:
                table.add_row(*(row[i] for i in cols))
            console.print(table)
        header, rows = regime_rows(study, value, full=False)
        if rows:
            rt = Table(
                title=f"{size_label(value)}: mean return per {_window_days(study)}-bar window "
                "by regime (vol and drawdown in report.html)",
                title_justify="left",
            )
            for col in header:
                rt.add_column(col)
            for row in rows:
                rt.add_row(*row)
            console.print(rt)
        walk = walk_line(study, value)
        if walk:
            console.print(walk)


def _window_days(study: Study) -> int:
    return study.windows[0].end - study.windows[0].first if study.windows else 0


def _html_table(header: list[str] | tuple[str, ...], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


_CSS = (
    "body{font-family:sans-serif;margin:2em;max-width:1400px}"
    "table{border-collapse:collapse;font-size:13px;margin:1em 0}"
    "td,th{border:1px solid #ccc;padding:3px 6px;text-align:right}"
    "td:first-child,th:first-child{text-align:left}img{max-width:100%;margin:0.5em 0}"
    ".note{color:#444}"
)


def write_html(study: Study, out: Path, images: list[Path]) -> Path:
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>Backtest report</title>",
        f"<style>{_CSS}</style></head><body><h1>Backtest report</h1>",
    ]
    parts += [f"<p class='note'>{html.escape(n)}</p>" for n in notes(study)]
    for value in study.values:
        slug = f"-{int(value)}.png"
        parts.append(f"<h2>{size_label(value)} portfolio</h2>")
        parts.append(f"<p class='note'>costs: {html.escape(study.costs[value].label)}</p>")
        rows = summary_rows(study, value)
        for title, cols in GROUPS:
            parts.append(f"<h3>{html.escape(title)}</h3>")
            parts.append(
                _html_table(
                    [SUMMARY_COLUMNS[i] for i in cols], [[r[i] for i in cols] for r in rows]
                )
            )
        header, rows = regime_rows(study, value)
        if rows:
            parts.append(
                f"<h3>By regime (mean per {_window_days(study)}-bar window; count in brackets)</h3>"
            )
            parts.append(_html_table(header, rows))
        line = walk_line(study, value)
        if line:
            parts.append(f"<p>{html.escape(line)}</p>")
        for img in images:
            if img.name.endswith(slug):
                parts.append(f"<img src='{html.escape(img.name)}' alt='{html.escape(img.stem)}'>")
        for (v, name), expl in study.explanations.items():
            if v == value and expl:
                parts.append(
                    f"<h3>{html.escape(name)}: first rebalances, as the engine explained "
                    "them</h3><ul>"
                )
                parts += [
                    f"<li>{html.escape(study.table.day(t))}: {html.escape(e)}</li>"
                    for t, e in expl[:10]
                ]
                parts.append("</ul>")
    parts.append("</body></html>")
    path = out / "report.html"
    path.write_text("\n".join(parts))
    return path
