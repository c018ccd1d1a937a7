"""Building the response models from the store, the ledger and the daemon (no HTTP here)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from keeper.dashboard.context import DashboardContext, NotFoundError
from keeper.dashboard.models import (
    Amount,
    FillView,
    InFlightView,
    IntentView,
    KeeperView,
    PoolSwap,
    SettlementSummary,
    SettlementView,
    TokenFlow,
)
from keeper.intents.ledger import Fill, Settlement
from keeper.intents.records import IntentRecord
from keeper.intents.states import TERMINAL, IntentState


def _tokens(ctx: DashboardContext) -> dict[str, Any]:
    """Lower-case address -> market token (symbol, decimals); empty without a market."""
    if ctx.market is None:
        return {}
    return {t.address.lower(): t for t in ctx.market.tokens}


def intent_view(record: IntentRecord, tokens: dict[str, Any]) -> IntentView:
    intent = record.payload.get("intent", {})

    def amounts(key: str) -> list[Amount]:
        out = []
        for leg in intent.get(key, []):
            token = tokens.get(str(leg["token"]).lower())
            decimals = token.decimals if token else 18
            out.append(
                Amount(
                    symbol=token.symbol if token else str(leg["token"]),
                    amount=int(leg["amount"]) / 10**decimals,
                )
            )
        return out

    return IntentView(
        id=record.id,
        owner=record.owner,
        nonce=str(record.nonce),
        state=record.state.value,
        reason=record.reason,
        sells=amounts("sells"),
        buys=amounts("buys"),
        attempts=record.attempts,
        tx_hash=record.tx_hash,
        created_at=record.created_at,
        updated_at=record.updated_at,
    )


def pending_intents(ctx: DashboardContext, owner: str) -> list[IntentView]:
    live = [s for s in IntentState if s not in TERMINAL]
    tokens = _tokens(ctx)
    return [intent_view(r, tokens) for r in ctx.store.find(live, owner=owner)]


def fill_view(fill: Fill, settlement: Settlement) -> FillView:
    gas_usd = fill.gas_share * settlement.effective_gas_price / 1e18 * settlement.eth_usd
    single = len(fill.sells) == 1 and len(fill.buys) == 1
    limit_price = execution_price = None
    pair = None
    if single:
        sell, buy = fill.sells[0], fill.buys[0]
        pair = f"{buy.symbol}/{sell.symbol}"
        if sell.whole_limit > 0:
            limit_price = buy.whole_limit / sell.whole_limit
        if sell.whole > 0:
            execution_price = buy.whole / sell.whole
    surplus = sum(
        (leg.amount - leg.limit) / leg.amount * leg.usd for leg in fill.buys if leg.amount > 0
    )
    fee = None
    if fill.fee and fill.fee_token:
        leg = next((s for s in fill.sells if s.token.lower() == fill.fee_token.lower()), None)
        decimals = leg.decimals if leg else 18
        fee = Amount(
            symbol=leg.symbol if leg else fill.fee_token,
            amount=fill.fee / 10**decimals,
            usd=fill.fee_usd,
        )
    return FillView(
        tx_hash=settlement.tx_hash,
        intent_id=fill.intent_id,
        owner=fill.owner,
        block=settlement.block_number,
        time=settlement.block_time,
        sold=[Amount(symbol=s.symbol, amount=s.whole, limit=s.whole_limit, usd=s.usd)
              for s in fill.sells],
        received=[Amount(symbol=b.symbol, amount=b.whole, limit=b.whole_limit, usd=b.usd)
                  for b in fill.buys],
        limit_price=limit_price,
        execution_price=execution_price,
        pair=pair,
        surplus_usd=surplus,
        fee=fee,
        gas_share=fill.gas_share,
        gas_usd=gas_usd,
        blocks_to_inclusion=settlement.blocks_to_inclusion,
        cost_usd=fill.cost_usd,
        savings_usd=fill.savings_usd,
        router02_savings_usd=fill.router02_savings_usd,
    )  # fmt: skip


def history(ctx: DashboardContext, owner: str, limit: int = 100) -> list[FillView]:
    return [
        fill_view(fill, s)
        for s in ctx.ledger.settlements(owner=owner, limit=limit)
        for fill in s.fills
    ]


def settlement_view(ctx: DashboardContext, tx_hash: str) -> SettlementView:
    settlement = ctx.ledger.settlement(tx_hash)
    if settlement is None:
        raise NotFoundError("tx_hash", f"{tx_hash} is not a settlement this keeper recorded")
    decimals = {leg.symbol: leg.decimals for f in settlement.fills for leg in (*f.sells, *f.buys)}
    decimals.update({t.symbol: t.decimals for t in _tokens(ctx).values()})

    def whole(symbol: str, amount: str | int) -> float:
        return int(amount) / 10 ** decimals.get(symbol, 18)

    tokens = settlement.flows.get("tokens", {})
    flows = [
        TokenFlow(symbol=symbol, **{k: whole(symbol, v) for k, v in entry.items()})
        for symbol, entry in tokens.items()
    ]
    swaps = [
        PoolSwap(
            pool=s["pool"],
            dex=s["dex"],
            fee=int(s["fee"]),
            token_in=s["token_in"],
            amount_in=whole(s["token_in"], s["amount_in"]),
            token_out=s["token_out"],
            amount_out=whole(s["token_out"], s["amount_out"]),
        )
        for s in settlement.flows.get("swaps", [])
    ]
    orders = [fill_view(f, settlement) for f in settlement.fills]
    return SettlementView(
        tx_hash=settlement.tx_hash,
        bundle_hash=settlement.bundle_hash,
        block=settlement.block_number,
        time=settlement.block_time,
        gas_used=settlement.gas_used,
        gas_price_gwei=settlement.effective_gas_price / 1e9,
        gas_usd=settlement.gas_usd,
        blocks_to_inclusion=settlement.blocks_to_inclusion,
        orders=orders,
        flows=flows,
        swaps=swaps,
        cost_usd=sum(o.cost_usd for o in orders),
        savings_usd=sum(o.savings_usd for o in orders),
        router02_savings_usd=sum(o.router02_savings_usd for o in orders),
    )


def settlement_summaries(settlements: Iterable[Settlement]) -> list[SettlementSummary]:
    return [
        SettlementSummary(
            tx_hash=s.tx_hash,
            block=s.block_number,
            time=s.block_time,
            orders=len(s.fills),
            gas_used=s.gas_used,
            gas_usd=s.gas_usd,
            savings_usd=sum(f.savings_usd for f in s.fills),
        )
        for s in settlements
    ]


def _samples(registry: Any, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    out: dict[tuple[tuple[str, str], ...], float] = {}
    for metric in registry.collect():
        for sample in metric.samples:
            if sample.name == name:
                out[tuple(sorted(sample.labels.items()))] = float(sample.value)
    return out


def keeper_view(ctx: DashboardContext) -> KeeperView:
    counts = {state.value: n for state, n in ctx.store.counts().items()}
    recent = settlement_summaries(ctx.ledger.settlements(limit=20))
    block = age = None
    if ctx.w3 is not None:
        latest = ctx.w3.eth.get_block("latest")
        block = int(latest["number"])
        age = max(0.0, ctx.clock() - int(latest["timestamp"]))
    pipeline = ctx.pipeline
    if pipeline is None:
        return KeeperView(
            chain_id=ctx.chain_id, executor=ctx.executor, block=block, block_age_s=age,
            live=False, paper=None, halted=None, halt_reason=None, failures_in_window=None,
            failure_budget=None, cycle_seconds_last=None, cycle_seconds_mean=None, cycles=None,
            bundles={}, acceptance_rate=None, inclusion_rate=None, in_flight=[],
            intents_by_state=counts, settlements=recent,
        )  # fmt: skip
    registry = pipeline.metrics.registry
    bundles = {
        dict(labels).get("outcome", ""): int(v)
        for labels, v in _samples(registry, "keeper_bundles_total").items()
    }
    sent = bundles.get("submitted", 0) + bundles.get("refused", 0)
    landed = bundles.get("included", 0) + bundles.get("missed", 0)
    cycles = _samples(registry, "keeper_cycle_seconds_count").get((), 0.0)
    total = _samples(registry, "keeper_cycle_seconds_sum").get((), 0.0)
    last = pipeline.last_report
    breaker = pipeline.breaker
    return KeeperView(
        chain_id=ctx.chain_id,
        executor=ctx.executor,
        block=block,
        block_age_s=age,
        live=True,
        paper=bool(pipeline.paper),
        halted=bool(breaker.halted),
        halt_reason=breaker.reason,
        failures_in_window=breaker.recent_failures,
        failure_budget=breaker.budget,
        cycle_seconds_last=last.seconds if last is not None else None,
        cycle_seconds_mean=total / cycles if cycles else None,
        cycles=int(cycles),
        bundles=bundles,
        acceptance_rate=bundles.get("submitted", 0) / sent if sent else None,
        inclusion_rate=bundles.get("included", 0) / landed if landed else None,
        in_flight=[
            InFlightView(
                tx_hash=f.tx_hash,
                bundle_hash=f.bundle_hash,
                intents=len(f.ids),
                last_block=f.last_block,
            )
            for f in list(pipeline.in_flight)
        ],
        intents_by_state=counts,
        settlements=recent,
    )
