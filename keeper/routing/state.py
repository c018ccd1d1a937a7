"""Read pool state from a node into a :class:`Snapshot`, in a few JSON-RPC batch round trips.

Round trips (each one HTTP request holding a JSON-RPC batch of ``eth_call``):

0. block number and chain id (every later call is pinned to that block);
1. optional pool discovery through the factories (``getPair``, ``getPool`` per fee tier);
2. tokens and pool state (V2 ``getReserves``; V3 ``slot0``, ``liquidity``, ``fee``,
   ``tickSpacing``), token ``symbol``/``decimals``;
3. V3 ``tickBitmap`` words around the current tick (``word_radius`` words each side);
4. V3 ``ticks(i)`` for every initialised tick found.

This works on any node, including a bare anvil (no Multicall3 needed).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import cache
from typing import Any

from keeper.routing.constants import MAX_TICK, MIN_TICK
from keeper.routing.exceptions import SnapshotError
from keeper.routing.snapshot import Snapshot, Token, V2Pool, V3Pool, V3Tick

ZERO = "0x" + "00" * 20
DEFAULT_FEE_TIERS = (100, 500, 3000, 10000)
BATCH_SIZE = 2500


@cache
def _selector(signature: str) -> bytes:
    from eth_utils import keccak

    return keccak(text=signature)[:4]


def _calldata(signature: str, types: Sequence[str] = (), args: Sequence[Any] = ()) -> str:
    from eth_abi import encode

    return "0x" + (_selector(signature) + encode(list(types), list(args))).hex()


def _decode(types: Sequence[str], data: bytes | None) -> tuple[Any, ...] | None:
    from eth_abi import decode

    if not data:
        return None
    try:
        return tuple(decode(list(types), data))
    except Exception:  # a non-conforming contract answers garbage: treat as absent
        return None


class RpcBatch:
    """``eth_call`` in JSON-RPC batches over HTTP, pinned to one block."""

    def __init__(self, rpc: Any, timeout: float = 30.0) -> None:
        url = rpc if isinstance(rpc, str) else getattr(rpc.provider, "endpoint_uri", None)
        if not url:
            raise SnapshotError("rpc", "need an HTTP JSON-RPC URL or a Web3 over HTTP")
        self.url = str(url)
        self.timeout = timeout
        self.block: str = "latest"
        self.round_trips = 0

    def request(self, calls: Sequence[tuple[str, list[Any]]]) -> list[Any]:
        import requests

        results: list[Any] = []
        for start in range(0, len(calls), BATCH_SIZE):
            chunk = calls[start : start + BATCH_SIZE]
            body = [
                {"jsonrpc": "2.0", "id": i, "method": method, "params": params}
                for i, (method, params) in enumerate(chunk)
            ]
            try:
                response = requests.post(self.url, json=body, timeout=self.timeout)
                response.raise_for_status()
                answers = response.json()
            except (requests.RequestException, ValueError) as err:
                raise SnapshotError("rpc", f"{self.url}: {err}") from None
            self.round_trips += 1
            if not isinstance(answers, list):
                raise SnapshotError("rpc", f"{self.url} does not answer JSON-RPC batches")
            by_id = {a.get("id"): a for a in answers}
            results.extend(by_id.get(i, {}).get("result") for i in range(len(chunk)))
        return results

    def call(self, calls: Sequence[tuple[str, str]]) -> list[bytes | None]:
        raw = self.request([("eth_call", [{"to": to, "data": d}, self.block]) for to, d in calls])
        return [bytes.fromhex(r[2:]) if isinstance(r, str) and len(r) > 2 else None for r in raw]

    def pin(self) -> tuple[int, int]:
        number, chain = self.request([("eth_blockNumber", []), ("eth_chainId", [])])
        if number is None or chain is None:
            raise SnapshotError("rpc", f"{self.url} did not return a block number and chain id")
        self.block = number
        return int(number, 16), int(chain, 16)


def discover_pools(
    batch: RpcBatch,
    tokens: Sequence[str],
    v2_factories: Iterable[str] = (),
    v3_factories: Iterable[str] = (),
    fee_tiers: Sequence[int] = DEFAULT_FEE_TIERS,
) -> tuple[list[str], list[str]]:
    """Addresses of the V2 pairs and V3 pools among every pair of ``tokens`` (one round trip)."""
    pairs = [(a, b) for i, a in enumerate(tokens) for b in tokens[i + 1 :]]
    calls: list[tuple[str, str]] = []
    kinds: list[str] = []
    for factory in v2_factories:
        for a, b in pairs:
            calls.append((factory, _calldata("getPair(address,address)", ["address"] * 2, [a, b])))
            kinds.append("v2")
    for factory in v3_factories:
        for a, b in pairs:
            for fee in fee_tiers:
                types = ["address", "address", "uint24"]
                calls.append(
                    (factory, _calldata("getPool(address,address,uint24)", types, [a, b, fee]))
                )
                kinds.append("v3")
    v2: list[str] = []
    v3: list[str] = []
    for kind, answer in zip(kinds, batch.call(calls) if calls else [], strict=True):
        decoded = _decode(["address"], answer)
        if decoded and decoded[0].lower() != ZERO:
            (v2 if kind == "v2" else v3).append(decoded[0])
    return v2, v3


def read_snapshot(
    rpc: Any,
    v2_pools: Sequence[str] = (),
    v3_pools: Sequence[str] = (),
    *,
    tokens: Sequence[str] = (),
    v2_factories: Iterable[str] = (),
    v3_factories: Iterable[str] = (),
    fee_tiers: Sequence[int] = DEFAULT_FEE_TIERS,
    weth: str | None = None,
    word_radius: int = 32,
    v2_fee: int = 3000,
) -> Snapshot:
    """Snapshot of the given pools, plus every pool the factories hold among ``tokens``.

    ``rpc`` is an HTTP URL or a Web3 over HTTP. ``word_radius`` bounds the V3 tick-bitmap
    scan (words of 256 tick spacings each side of the current tick; the whole range when it
    fits). Round trips used are counted in ``RpcBatch.round_trips``.
    """
    batch = rpc if isinstance(rpc, RpcBatch) else RpcBatch(rpc)
    block, chain_id = batch.pin()
    found_v2, found_v3 = discover_pools(batch, tokens, v2_factories, v3_factories, fee_tiers)
    v2_list = list(dict.fromkeys([*v2_pools, *found_v2]))
    v3_list = list(dict.fromkeys([*v3_pools, *found_v3]))
    if not v2_list and not v3_list:
        raise SnapshotError("pools", "no pools given or found")

    v2_sigs = ["token0()", "token1()", "getReserves()"]
    v3_sigs = ["token0()", "token1()", "fee()", "tickSpacing()", "slot0()", "liquidity()"]
    calls = [(p, _calldata(s)) for p in v2_list for s in v2_sigs]
    calls += [(p, _calldata(s)) for p in v3_list for s in v3_sigs]
    answers = batch.call(calls)
    v2_raw = [answers[i * 3 : i * 3 + 3] for i in range(len(v2_list))]
    offset = 3 * len(v2_list)
    v3_raw = [answers[offset + i * 6 : offset + i * 6 + 6] for i in range(len(v3_list))]

    def field(address: str, data: bytes | None, types: list[str], name: str) -> tuple[Any, ...]:
        decoded = _decode(types, data)
        if decoded is None:
            raise SnapshotError(name, f"pool {address} did not answer {name}")
        return decoded

    pools: list[V2Pool | V3Pool] = []
    for address, (t0, t1, reserves) in zip(v2_list, v2_raw, strict=True):
        r0, r1, _ = field(address, reserves, ["uint112", "uint112", "uint32"], "getReserves")
        pools.append(
            V2Pool(
                address=address,
                token0=field(address, t0, ["address"], "token0")[0],
                token1=field(address, t1, ["address"], "token1")[0],
                fee=v2_fee,
                reserve0=r0,
                reserve1=r1,
            )
        )
    slot0_types = ["uint160", "int24", "uint16", "uint16", "uint16", "uint8", "bool"]
    v3_state = []
    for address, (t0, t1, fee, spacing, slot0, liquidity) in zip(v3_list, v3_raw, strict=True):
        sqrt_price, tick = field(address, slot0, slot0_types, "slot0")[:2]
        v3_state.append(
            {
                "address": address,
                "token0": field(address, t0, ["address"], "token0")[0],
                "token1": field(address, t1, ["address"], "token1")[0],
                "fee": field(address, fee, ["uint24"], "fee")[0],
                "tick_spacing": field(address, spacing, ["int24"], "tickSpacing")[0],
                "sqrt_price_x96": sqrt_price,
                "tick": tick,
                "liquidity": field(address, liquidity, ["uint128"], "liquidity")[0],
            }
        )
    _read_ticks(batch, v3_state, word_radius)
    pools.extend(V3Pool(**state) for state in v3_state)

    token_addresses = list(dict.fromkeys([a for p in pools for a in (p.token0, p.token1)]))
    return Snapshot(
        chain_id=chain_id,
        block_number=block,
        weth=weth if weth and weth in token_addresses else None,
        tokens=tuple(_read_tokens(batch, token_addresses)),
        pools=tuple(pools),
    )


def _read_ticks(batch: RpcBatch, states: list[dict[str, Any]], word_radius: int) -> None:
    """Fill ``ticks`` and ``tick_window`` of each V3 pool state (two round trips in total)."""
    words: list[tuple[int, int]] = []  # (state index, word position)
    for i, state in enumerate(states):
        spacing = state["tick_spacing"]
        first, last = (MIN_TICK // spacing) >> 8, (MAX_TICK // spacing) >> 8
        current = (state["tick"] // spacing) >> 8
        lo, hi = max(first, current - word_radius), min(last, current + word_radius)
        state["tick_window"] = (
            max(MIN_TICK, lo * 256 * spacing),
            min(MAX_TICK, (hi * 256 + 255) * spacing),
        )
        words.extend((i, w) for w in range(lo, hi + 1))
    calls = [
        (states[i]["address"], _calldata("tickBitmap(int16)", ["int16"], [w])) for i, w in words
    ]
    bitmaps = batch.call(calls) if calls else []
    found: list[tuple[int, int]] = []
    for (i, word), data in zip(words, bitmaps, strict=True):
        bits = (_decode(["uint256"], data) or (0,))[0]
        spacing = states[i]["tick_spacing"]
        while bits:
            low = bits & -bits
            found.append((i, ((word << 8) + low.bit_length() - 1) * spacing))
            bits ^= low
    tick_types = ["uint128", "int128", "uint256", "uint256", "int56", "uint160", "uint32", "bool"]
    calls = [(states[i]["address"], _calldata("ticks(int24)", ["int24"], [t])) for i, t in found]
    answers = batch.call(calls) if calls else []
    per_pool: dict[int, list[V3Tick]] = {i: [] for i in range(len(states))}
    for (i, tick), data in zip(found, answers, strict=True):
        decoded = _decode(tick_types, data)
        if decoded is None:
            raise SnapshotError(
                "ticks", f"pool {states[i]['address']} did not answer ticks({tick})"
            )
        per_pool[i].append(V3Tick(index=tick, liquidity_net=decoded[1]))
    for i, state in enumerate(states):
        state["ticks"] = tuple(sorted(per_pool[i], key=lambda t: t.index))


def _read_tokens(batch: RpcBatch, addresses: list[str]) -> list[Token]:
    calls = [(a, _calldata(s)) for a in addresses for s in ("symbol()", "decimals()")]
    answers = batch.call(calls)
    tokens = []
    for i, address in enumerate(addresses):
        symbol = _decode(["string"], answers[2 * i])
        if symbol is None:  # bytes32 symbols (MKR-style)
            raw = _decode(["bytes32"], answers[2 * i])
            symbol = (raw[0].rstrip(b"\0").decode(errors="replace"),) if raw else ("",)
        decimals = _decode(["uint8"], answers[2 * i + 1]) or (18,)
        tokens.append(Token(address=address, symbol=str(symbol[0]), decimals=int(decimals[0])))
    return tokens


def read_market_snapshot(rpc: Any, market: Any, *, word_radius: int = 32) -> Snapshot:
    """Snapshot of every pool of a :class:`keeper.market.deployments.Market` description.

    Pools of fee-on-transfer tokens are left out: a pool receives less than was sent, so no
    quote from reserves alone can be exact for them.
    """
    skip = {t.address for t in market.tokens if t.kind == "fee-on-transfer"}
    usable = [p for p in market.pools if p.token0 not in skip and p.token1 not in skip]
    return read_snapshot(
        rpc,
        [p.address for p in usable if p.dex == "uniswap-v2"],
        [p.address for p in usable if p.dex == "uniswap-v3"],
        weth=market.contracts.get("WETH9"),
        word_radius=word_radius,
    )
