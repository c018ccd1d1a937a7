"""The dashboard's ASGI application: a JSON API under ``/api`` (OpenAPI at ``/api/openapi.json``,
browsable at ``/api/docs``) and server-rendered pages built from the same models.

Read-only by default: the only state-changing endpoint (``POST /api/owners/{owner}/controls``)
acts on a request signed by the owner (EIP-712, :mod:`keeper.dashboard.controls`). No cookies,
no sessions, no CORS unless ``dashboard.cors_origins`` lists origins.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, HTTPException, Query, Request
from fastapi import Path as PathParam
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from keeper.dashboard.context import DashboardContext, NotFoundError
from keeper.dashboard.controls import (
    ACTIONS,
    ControlError,
    SignedControl,
    apply,
    authorise,
    prepare,
    typed_data,
)
from keeper.dashboard.models import (
    ControlAnswer,
    IntentView,
    KeeperView,
    PortfolioView,
    Problem,
    SettlementSummary,
    SettlementView,
)
from keeper.dashboard.portfolio import ChainUnavailableError, portfolio_view
from keeper.dashboard.views import (
    keeper_view,
    pending_intents,
    settlement_summaries,
    settlement_view,
)
from keeper.exceptions import KeeperError

HERE = Path(__file__).parent
ADDRESS = r"^0x[0-9a-fA-F]{40}$"
TX_HASH = r"^0x[0-9a-fA-F]{64}$"
MONTH = r"^\d{4}-(0[1-9]|1[0-2])$"

OwnerPath = Annotated[str, PathParam(pattern=ADDRESS, description="the owner's address")]
TxPath = Annotated[str, PathParam(pattern=TX_HASH, description="settlement transaction hash")]
ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"model": Problem, "description": "not found"},
    422: {"model": Problem, "description": "a parameter is malformed"},
}


def _first_error(err: RequestValidationError) -> str:
    first = err.errors()[0]
    where = ".".join(str(p) for p in first["loc"] if p not in ("path", "query", "body"))
    return f"{where or 'request'}: {first['msg']}"


def create_app(ctx: DashboardContext) -> FastAPI:
    app = FastAPI(
        title="Rebalancer dashboard",
        version="1",
        description="Portfolios, settlements and the keeper, read-only; controls need the "
        "owner's EIP-712 signature.",
        openapi_url="/api/openapi.json",
        docs_url="/api/docs",
        redoc_url=None,
    )
    app.state.ctx = ctx
    if ctx.settings.cors_origins:
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(
            CORSMiddleware, allow_origins=ctx.settings.cors_origins, allow_methods=["GET", "POST"]
        )

    @app.exception_handler(NotFoundError)
    async def not_found(request: Request, err: NotFoundError) -> JSONResponse:
        return JSONResponse({"detail": str(err)}, status_code=404)

    @app.exception_handler(ControlError)
    async def refused(request: Request, err: ControlError) -> JSONResponse:
        return JSONResponse({"detail": str(err)}, status_code=err.status)

    @app.exception_handler(ChainUnavailableError)
    async def no_chain(request: Request, err: ChainUnavailableError) -> JSONResponse:
        return JSONResponse({"detail": str(err)}, status_code=503)

    @app.exception_handler(RequestValidationError)
    async def malformed(request: Request, err: RequestValidationError) -> JSONResponse:
        return JSONResponse({"detail": _first_error(err)}, status_code=422)

    @app.exception_handler(KeeperError)
    async def keeper_error(request: Request, err: KeeperError) -> JSONResponse:
        return JSONResponse({"detail": str(err)}, status_code=422)

    app.include_router(api_router(ctx))
    app.include_router(page_router(ctx))
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    return app


def api_router(ctx: DashboardContext) -> APIRouter:
    api = APIRouter(prefix="/api", responses=ERRORS)

    @api.get("/owners", tags=["portfolio"])
    def owners() -> list[str]:
        """The owners whose portfolios this dashboard follows."""
        return [e.owner for e in ctx.settings.owners]

    @api.get("/owners/{owner}/portfolio", tags=["portfolio"])
    def portfolio(owner: OwnerPath) -> PortfolioView:
        """Weights vs targets, drift vs trigger, next rebalance, cost now vs waiting, pending
        intents, history, performance, risk and opportunities."""
        return portfolio_view(ctx, owner)

    @api.get("/owners/{owner}/intents", tags=["portfolio"])
    def intents(owner: OwnerPath) -> list[IntentView]:
        """The owner's intents that have not ended yet, with their states."""
        ctx.owner(owner)
        return pending_intents(ctx, owner)

    @api.get("/owners/{owner}/settlements", tags=["portfolio"])
    def owner_settlements(
        owner: OwnerPath, limit: Annotated[int, Query(ge=1, le=1000)] = 100
    ) -> list[SettlementSummary]:
        """Settlements that filled one of the owner's intents, newest first."""
        ctx.owner(owner)
        return settlement_summaries(ctx.ledger.settlements(owner=owner, limit=limit))

    @api.get("/owners/{owner}/controls/typed-data", tags=["controls"])
    def control_typed_data(
        owner: OwnerPath,
        action: Annotated[str, Query(description=f"one of {', '.join(ACTIONS)}")],
        targets: Annotated[
            str | None, Query(description="new weights for action=targets: WETH=0.5,USDC=0.5")
        ] = None,
    ) -> dict[str, Any]:
        """EIP-712 typed data of a fresh control request for the owner to sign
        (``eth_signTypedData_v4``), with a new nonce and a deadline."""
        entry = ctx.owner(owner)
        weights = _parse_targets(targets) if targets else None
        request = prepare(
            entry.owner, action, targets=weights, ttl_s=ctx.settings.control_ttl_s,
            clock=ctx.clock,
        )  # fmt: skip
        return typed_data(request, ctx.chain_id, ctx.executor)

    @api.post("/owners/{owner}/controls", tags=["controls"])
    def control(owner: OwnerPath, signed: SignedControl) -> ControlAnswer:
        """Carry out a control request signed by the owner (403 otherwise; 409 on a nonce
        used before)."""
        from keeper.strategy.controls import ControlStore

        entry = ctx.owner(owner)
        authorise(
            signed, owner=entry.owner, chain_id=ctx.chain_id, executor=ctx.executor,
            ledger=ctx.ledger, clock=ctx.clock,
        )  # fmt: skip
        state = apply(signed.request, ControlStore(entry.state))
        ctx.ledger.add_event(entry.owner, "control", f"owner signed: {signed.request.action}")
        return ControlAnswer(
            owner=entry.owner,
            action=signed.request.action,
            paused=state.paused,
            manual_requested=state.manual_requested,
            target_overrides=state.target_overrides,
        )

    @api.get("/settlements", tags=["settlements"])
    def settlements(limit: Annotated[int, Query(ge=1, le=1000)] = 50) -> list[SettlementSummary]:
        """Recent settlements, newest first."""
        return settlement_summaries(ctx.ledger.settlements(limit=limit))

    @api.get("/settlements/{tx_hash}", tags=["settlements"])
    def settlement(tx_hash: TxPath) -> SettlementView:
        """One batch: each order's limit vs execution, netted flows and pool swaps."""
        return settlement_view(ctx, tx_hash)

    @api.get("/keeper", tags=["keeper"])
    def keeper() -> KeeperView:
        """Last block, cycle latency, relay acceptance and inclusion, in-flight bundles,
        breaker and failure budget, intents by state."""
        return keeper_view(ctx)

    @api.get("/owners/{owner}/reports/{month}", tags=["reports"], response_class=FileResponse)
    def report(owner: OwnerPath, month: Annotated[str, PathParam(pattern=MONTH)]) -> FileResponse:
        """A monthly report written by ``keeper report`` (HTML)."""
        return FileResponse(_report_file(ctx, owner, month, "html"))

    return api


def _report_file(ctx: DashboardContext, owner: str, month: str, suffix: str) -> Path:
    entry = ctx.owner(owner)
    folder = ctx.reports_dir(entry.owner)
    path = None if folder is None else folder / f"{month}.{suffix}"
    if path is None or not path.is_file():
        raise NotFoundError("month", f"no report for {month} (run: keeper report --month {month})")
    return path


def _parse_targets(text: str) -> dict[str, float]:
    weights: dict[str, float] = {}
    for part in text.split(","):
        symbol, sep, value = part.partition("=")
        try:
            weights[symbol.strip()] = float(value.strip().rstrip("%")) / (
                100 if value.strip().endswith("%") else 1
            )
        except ValueError:
            sep = ""
        if not sep or not symbol.strip():
            raise ControlError("targets", f"expected SYMBOL=WEIGHT pairs, got {part!r}", 422)
    return weights


def page_router(ctx: DashboardContext) -> APIRouter:
    from keeper.dashboard.pages import register

    pages = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)
    templates = Jinja2Templates(directory=HERE / "templates")
    register(pages, ctx, templates)
    return pages


def error_page(templates: Jinja2Templates, request: Request, status: int, detail: str) -> Any:
    return templates.TemplateResponse(
        request, "error.html", {"status": status, "detail": detail}, status_code=status
    )


__all__ = ["HTTPException", "create_app", "error_page"]
