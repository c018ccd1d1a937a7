"""Recording a confirmed settlement: what each intent sold and received, gas, fees, USD values
at the block, blocks to inclusion, the flows, and what the same trades would have cost without
the batch (:class:`keeper.intents.ledger.Counterfactual`).

Runs in a background thread once the intents are recorded settled (the cycle does not wait for
it; :meth:`SettlementRecorder.close` lets the last records finish). The block's pools are read at
the block *before* the settlement (the prices the batch traded against); the counterfactual
routes each user's trade alone on that same snapshot:

* **own router** (the fair figure): one transaction of this user alone, every leg routed by the
  keeper's own gas-aware optimal router (V2 + V3, splits, multi-hop), gas ``21,000 + Σ route
  gas``. Legs are quoted independently on the same state (a user's second leg does not see the
  first one's price impact), which flatters the alternative: the savings are a lower bound.
* **Router02 per leg** (the naive baseline, a second line): one Uniswap V2 Router02
  transaction per leg, through V2 pools only, :data:`ROUTER02_SWAP_GAS` each.

A user's sells are paired with their buys in proportion to the USD each buy leg received.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from eth_utils import keccak

from keeper.daemon.inflight import InFlight
from keeper.intents.ledger import Counterfactual, Fill, Ledger, Leg, Settlement
from keeper.intents.records import IntentRecord
from keeper.intents.states import IntentState
from keeper.intents.store import IntentStore
from keeper.settlement.outcome import SettledEvents, SettledIntent

log = logging.getLogger("keeper.recording")

#: gas of a plain transaction, before any call it makes
TX_BASE_GAS = 21_000
#: one Uniswap V2 Router02 ``swapExactTokensForTokens`` as its own transaction, warm pair,
#: approval given (measured on anvil, docs/TOOLCHAIN.md; the local stack re-measures it)
ROUTER02_SWAP_GAS = 87_310

_V2_SWAP = "0x" + keccak(text="Swap(address,uint256,uint256,uint256,uint256,address)").hex()
_V3_SWAP = "0x" + keccak(text="Swap(address,address,int256,int256,uint160,uint128,int24)").hex()


def _int(value: Any) -> int:
    if isinstance(value, int):
        return value
    text = str(value)
    return int(text, 16) if text.startswith("0x") else int(text)


def _hex(value: Any) -> str:
    if isinstance(value, bytes | bytearray):
        return "0x" + bytes(value).hex()
    text = str(value)
    return text if text.startswith("0x") else "0x" + text


def _signed(word: int) -> int:
    return word - 2**256 if word >= 2**255 else word


def pools_at(rpc: Callable[[list[tuple[str, list[Any]]]], Any], template: Any, block: int) -> Any:
    """The routing market of ``template``'s pools with their state at ``block`` (reserves, V3
    price and liquidity; the V3 tick lists are the template's: liquidity added or removed in
    between is not seen, which only matters for a counterfactual quote far from the price)."""
    from keeper.routing import Market, V2Pool
    from keeper.settlement.pools import GET_RESERVES, LIQUIDITY, SLOT0

    def word(data: str, index: int) -> int:
        return int(data[2 + 64 * index : 2 + 64 * (index + 1)], 16)

    tag = hex(block)
    calls: list[tuple[str, list[Any]]] = []
    for pool in template.pools:
        if isinstance(pool, V2Pool):
            calls.append(("eth_call", [{"to": pool.address, "data": GET_RESERVES}, tag]))
        else:
            calls.append(("eth_call", [{"to": pool.address, "data": SLOT0}, tag]))
            calls.append(("eth_call", [{"to": pool.address, "data": LIQUIDITY}, tag]))
    results = [str(a["result"]) for a in rpc(calls)]
    pools, k = [], 0
    for pool in template.pools:
        if isinstance(pool, V2Pool):
            update = {"reserve0": word(results[k], 0), "reserve1": word(results[k], 1)}
            k += 1
        else:
            tick = word(results[k], 1)
            tick = tick - 2**256 if tick >= 2**255 else tick
            low, high = pool.tick_window
            update = {
                "sqrt_price_x96": word(results[k], 0),
                "tick": min(max(tick, low), high),
                "liquidity": word(results[k + 1], 0),
            }
            k += 2
        pools.append(pool.model_copy(update=update))
    return Market(template.model_copy(update={"pools": tuple(pools), "block_number": block}))


def pool_swaps(logs: Sequence[Mapping[str, Any]], snapshot: Any) -> list[dict[str, Any]]:
    """Uniswap V2/V3 ``Swap`` events of a receipt: which pool swapped what for what."""
    pools = {p.address.lower(): p for p in snapshot.pools}
    symbols = {t.address.lower(): t.symbol for t in snapshot.tokens}
    swaps = []
    for entry in logs:
        topics = [_hex(t).lower() for t in entry.get("topics", [])]
        pool = pools.get(str(entry.get("address", "")).lower())
        if not topics or pool is None or topics[0] not in (_V2_SWAP, _V3_SWAP):
            continue
        data = bytes.fromhex(_hex(entry["data"])[2:])
        words = [int.from_bytes(data[i : i + 32], "big") for i in range(0, len(data), 32)]
        if topics[0] == _V2_SWAP:
            in0, in1, out0, out1 = words[:4]
            delta0, delta1 = in0 - out0, in1 - out1
        else:
            delta0, delta1 = _signed(words[0]), _signed(words[1])
        (t_in, a_in), (t_out, a_out) = (
            ((pool.token0, delta0), (pool.token1, -delta1))
            if delta0 > 0
            else ((pool.token1, delta1), (pool.token0, -delta0))
        )
        swaps.append(
            {
                "pool": pool.address,
                "dex": "uniswap-v2" if pool.kind == "v2" else "uniswap-v3",
                "fee": pool.fee,
                "token_in": symbols.get(t_in.lower(), t_in),
                "amount_in": str(a_in),
                "token_out": symbols.get(t_out.lower(), t_out),
                "amount_out": str(a_out),
            }
        )
    return swaps


class SettlementRecorder:
    """Builds and stores the :class:`~keeper.intents.ledger.Settlement` of a receipt.

    Args:
        store: the intent store (its ledger and transition history).
        events: decoder of the executor's ``IntentSettled``.
        executor: the executor address.
        market_at: the routing :class:`~keeper.routing.Market` at a block number.
        prices: USD per whole token (lower-case address) on a routing market.
        block_time: a block's timestamp.
    """

    def __init__(
        self,
        store: IntentStore,
        events: SettledEvents,
        executor: str,
        market_at: Callable[[int], Any],
        prices: Callable[[Any], Mapping[str, float]],
        block_time: Callable[[int], int],
    ) -> None:
        self.store = store
        self.ledger: Ledger = store.ledger
        self.events = events
        self.executor = executor
        self.market_at = market_at
        self.prices = prices
        self.block_time = block_time
        self._worker: ThreadPoolExecutor | None = None
        #: called with the error of a recording that failed in the background
        self.on_error: Callable[[str, BaseException], None] | None = None

    def record_later(self, flight: InFlight, receipt: Mapping[str, Any]) -> Future[Any]:
        """Record in a background thread, so the per-block cycle never waits for the pool reads
        and quotes of a record (the intents are already ``settled``)."""
        if self._worker is None:
            self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="recording")
        return self._worker.submit(self._record_logged, flight, receipt)

    def _record_logged(self, flight: InFlight, receipt: Mapping[str, Any]) -> None:
        from keeper.exceptions import KeeperError

        started = time.perf_counter()
        try:
            self.record(flight, receipt)
        except (KeeperError, OSError, ValueError, KeyError) as err:
            log.warning("settlement %s not recorded: %s", flight.tx_hash, err)
            if self.on_error is not None:
                self.on_error(flight.tx_hash, err)
            return
        log.info(
            "settlement recorded",
            extra={"tx": flight.tx_hash, "seconds": round(time.perf_counter() - started, 3)},
        )

    def close(self) -> None:
        """Finish the records under way."""
        if self._worker is not None:
            self._worker.shutdown(wait=True)
            self._worker = None

    def record(self, flight: InFlight, receipt: Mapping[str, Any]) -> Settlement:
        block = _int(receipt["blockNumber"])
        market = self.market_at(block - 1)
        prices = {k.lower(): v for k, v in self.prices(market).items()}
        snapshot = market.snapshot
        tokens = {t.address.lower(): t for t in snapshot.tokens}
        weth = (snapshot.weth or "").lower()
        eth_usd = prices.get(weth, 0.0)
        gas_used = _int(receipt["gasUsed"])
        gas_price = _int(receipt.get("effectiveGasPrice", 0))
        logs = list(receipt.get("logs", []))
        settled = self.events.decode(logs, self.executor)
        records = {
            (r.owner.lower(), r.nonce): r
            for r in (flight.records.get(i) or self.store.get(i) for i in flight.ids)
        }
        legs = sum(len(s.sold) for s in settled) or 1

        def usd(token: str, amount: int) -> float:
            t = tokens.get(token.lower())
            return amount / 10 ** (t.decimals if t else 18) * prices.get(token.lower(), 0.0)

        def symbol(token: str) -> tuple[str, int]:
            t = tokens.get(token.lower())
            return (t.symbol or token, t.decimals) if t else (token, 18)

        fills = []
        for event in settled:
            record = records.get((event.owner.lower(), event.nonce))
            fills.append(
                self._fill(
                    flight.tx_hash, event, record, usd, symbol, market,
                    gas_share=gas_used * len(event.sold) // legs, gas_price=gas_price,
                    eth_usd=eth_usd,
                )
            )  # fmt: skip
        settlement = Settlement(
            tx_hash=flight.tx_hash,
            bundle_hash=flight.bundle_hash or None,
            block_number=block,
            block_time=self.block_time(block),
            gas_used=gas_used,
            effective_gas_price=gas_price,
            eth_usd=eth_usd,
            first_submitted_block=self._first_submitted(flight.ids),
            flows=flows(fills, pool_swaps(logs, snapshot)),
            fills=tuple(fills),
        )
        self.ledger.add_settlement(settlement)
        return settlement

    def _first_submitted(self, ids: Sequence[str]) -> int | None:
        blocks = [
            t.block_number
            for i in ids
            for t in self.store.history(i)
            if t.target is IntentState.SUBMITTED and t.block_number is not None
        ]
        return min(blocks) if blocks else None

    def _fill(
        self,
        tx_hash: str,
        event: SettledIntent,
        record: IntentRecord | None,
        usd: Callable[[str, int], float],
        symbol: Callable[[str], tuple[str, int]],
        market: Any,
        *,
        gas_share: int,
        gas_price: int,
        eth_usd: float,
    ) -> Fill:
        intent = (record.payload.get("intent", {}) if record else {}) or {}
        sell_legs = list(intent.get("sells", []))
        buy_legs = list(intent.get("buys", []))

        def legs(signed: list[Any], amounts: Any) -> tuple[Leg, ...]:
            """The signed legs (limits) beside the amounts the event reports, leg by leg."""
            out = []
            for leg, amount in zip(signed, amounts, strict=False):
                token = str(leg["token"])
                name, decimals = symbol(token)
                out.append(
                    Leg(token=token, symbol=name, limit=int(leg["amount"]), amount=amount,
                        usd=usd(token, amount), decimals=decimals)
                )  # fmt: skip
            return tuple(out)

        sells = legs(sell_legs, event.sold)
        buys = legs(buy_legs, event.received)
        fee_token = intent.get("feeToken")
        fee_token = None if not fee_token or int(str(fee_token), 16) == 0 else str(fee_token)
        return Fill(
            tx_hash=tx_hash.lower(),
            intent_id=record.id if record else None,
            owner=event.owner,
            nonce=event.nonce,
            sells=sells,
            buys=buys,
            fee=event.fee,
            fee_token=fee_token,
            fee_usd=usd(fee_token, event.fee) if fee_token else 0.0,
            gas_share=gas_share,
            counterfactual=counterfactual(sells, buys, market, usd, gas_price, eth_usd),
        )


def _pieces(sells: Sequence[Leg], buys: Sequence[Leg]) -> list[tuple[Leg, int, Leg]]:
    """(sell leg, amount, buy leg): each sell split over the buys by the USD they received."""
    total = sum(b.usd for b in buys)
    if total <= 0:
        return []
    out = []
    for sell in sells:
        for buy in buys:
            amount = int(sell.amount * (buy.usd / total))
            if amount > 0 and buy.token.lower() != sell.token.lower():
                out.append((sell, amount, buy))
    return out


def counterfactual(
    sells: Sequence[Leg],
    buys: Sequence[Leg],
    market: Any,
    usd: Callable[[str, int], float],
    gas_price: int,
    eth_usd: float,
) -> Counterfactual:
    """What the same trade would have received and cost in gas without the batch."""
    from keeper.routing import Market, RoutingError, route

    pieces = _pieces(sells, buys)
    if not pieces:
        return Counterfactual()
    gas_usd = gas_price / 1e18 * eth_usd
    weth = market.snapshot.weth
    own_out, own_gas = 0.0, TX_BASE_GAS
    v2_market = Market(
        market.snapshot.model_copy(
            update={"pools": tuple(p for p in market.snapshot.pools if p.kind == "v2")}
        )
    )
    v2_out = 0.0
    for sell, amount, buy in pieces:
        try:
            # gas-aware where the snapshot can value gas (through WETH), as the keeper routes
            r = route(market, sell.token, buy.token, amount, gas_price if weth else 0)
            own_out += usd(buy.token, r.amount_out)
            own_gas += r.gas_estimate
        except RoutingError as err:
            log.warning("counterfactual: no own route %s -> %s: %s", sell.symbol, buy.symbol, err)
        try:
            r2 = route(v2_market, sell.token, buy.token, amount, max_hops=2)
            v2_out += usd(buy.token, r2.amount_out)
        except RoutingError as err:
            log.warning("counterfactual: no V2 route %s -> %s: %s", sell.symbol, buy.symbol, err)
    router02_gas = ROUTER02_SWAP_GAS * len(pieces)
    return Counterfactual(
        own_received_usd=own_out,
        own_gas=own_gas,
        own_gas_usd=own_gas * gas_usd,
        router02_received_usd=v2_out,
        router02_gas=router02_gas,
        router02_gas_usd=router02_gas * gas_usd,
    )


def flows(fills: Sequence[Fill], swaps: list[dict[str, Any]]) -> dict[str, Any]:
    """Per token: what users sold and received in total, what went into and came out of pools,
    and so what was netted between users (matched inside the batch, never touching a pool)."""
    per_token: dict[str, dict[str, int]] = {}

    def add(symbol: str, key: str, amount: int) -> None:
        entry = per_token.setdefault(
            symbol, {"sold": 0, "received": 0, "to_pools": 0, "from_pools": 0}
        )
        entry[key] += amount

    for fill in fills:
        for leg in fill.sells:
            add(leg.symbol, "sold", leg.amount)
        for leg in fill.buys:
            add(leg.symbol, "received", leg.amount)
    for swap in swaps:
        add(swap["token_in"], "to_pools", int(swap["amount_in"]))
        add(swap["token_out"], "from_pools", int(swap["amount_out"]))
    tokens = {
        symbol: {
            **{k: str(v) for k, v in e.items()},
            "netted": str(max(0, min(e["sold"] - e["to_pools"], e["received"] - e["from_pools"]))),
        }
        for symbol, e in sorted(per_token.items())
    }
    return {"tokens": tokens, "swaps": swaps}
