"""Server-rendered pages: each renders the model its JSON twin returns (``/api/...``)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi import Path as PathParam
from fastapi.responses import FileResponse
from fastapi.templating import Jinja2Templates

from keeper.dashboard.context import DashboardContext, NotFoundError
from keeper.dashboard.portfolio import ChainUnavailableError, portfolio_view
from keeper.dashboard.views import keeper_view, settlement_view

ASSET = r"^[\w.-]+\.(html|md|png)$"


def usd(value: float | None) -> str:
    if value is None:
        return "—"
    sign = "-" if value < 0 else ""
    return f"{sign}${abs(value):,.2f}"


def pct(value: float | None, digits: int = 1) -> str:
    return "—" if value is None else f"{value * 100:.{digits}f}%"


def amount(value: float | None) -> str:
    if value is None:
        return "—"
    if value == 0:
        return "0"
    digits = 2 if abs(value) >= 100 else 4 if abs(value) >= 1 else 6
    return f"{value:,.{digits}f}"


def short(text: str | None, keep: int = 10) -> str:
    if not text:
        return "—"
    return text if len(text) <= 2 * keep else f"{text[:keep]}…{text[-4:]}"


def when(stamp: float | int | None) -> str:
    if not stamp:
        return "—"
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(stamp))


def register(pages: APIRouter, ctx: DashboardContext, templates: Jinja2Templates) -> None:
    env = templates.env
    env.filters.update(usd=usd, pct=pct, amount=amount, short=short, when=when)
    env.autoescape = True

    def render(request: Request, name: str, status: int = 200, **context: Any) -> Any:
        return templates.TemplateResponse(request, name, context, status_code=status)

    def failed(request: Request, status: int, detail: str) -> Any:
        return render(request, "error.html", status, status_code=status, detail=detail)

    @pages.get("/")
    def index(request: Request) -> Any:
        owners = [e.owner for e in ctx.settings.owners]
        return render(request, "index.html", owners=owners, page="home")

    @pages.get("/portfolio/{owner}")
    def portfolio(request: Request, owner: str) -> Any:
        try:
            view = portfolio_view(ctx, owner)
        except NotFoundError as err:
            return failed(request, 404, str(err))
        except ChainUnavailableError as err:
            return failed(request, 503, str(err))
        return render(
            request, "portfolio.html", view=view, page="portfolio",
            chain_id=ctx.chain_id, executor=ctx.executor,
        )  # fmt: skip

    @pages.get("/settlements/{tx_hash}")
    def settlement(request: Request, tx_hash: str) -> Any:
        try:
            view = settlement_view(ctx, tx_hash)
        except NotFoundError as err:
            return failed(request, 404, str(err))
        return render(request, "settlement.html", view=view, page="settlement")

    @pages.get("/keeper")
    def keeper(request: Request) -> Any:
        return render(request, "keeper.html", view=keeper_view(ctx), page="keeper")

    @pages.get("/reports/{owner}/{name}")
    def report(request: Request, owner: str, name: Annotated[str, PathParam(pattern=ASSET)]) -> Any:
        try:
            entry = ctx.owner(owner)
        except NotFoundError as err:
            return failed(request, 404, str(err))
        folder = ctx.reports_dir(entry.owner)
        path = None if folder is None else folder / Path(name).name
        if path is None or not path.is_file():
            return failed(request, 404, f"report: no {name} for {entry.owner}")
        return FileResponse(path)
