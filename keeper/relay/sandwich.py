"""A sandwich bot, and the measurement of what a swap loses to it: public mempool vs relay.

The bot watches anvil's transaction pool (``txpool_content``: the public mempool), decodes
Uniswap V2 ``swapExactTokensForTokens`` calls on its pool, and for each victim computes the
largest front-run that still leaves the victim at exactly its ``amountOutMin``. It sends the
front-run with a higher priority fee and the back-run with a lower one, so a fee-ordering builder
puts them around the victim. A swap sent through the relay (``eth_sendPrivateTransaction``) never
enters that pool, so the bot has nothing to see.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from eth_account.signers.local import LocalAccount

from keeper.exceptions import ConfigError
from keeper.relay.bundle import decode_tx
from keeper.relay.client import RelayClient
from keeper.relay.sandbox import GWEI, V2Sandbox, sign_call
from keeper.relay.server import LocalRelay

SWAP_EXACT_TOKENS_FOR_TOKENS = "0x38ed1739"
_DEADLINE = 2**40


def amount_out(amount_in: int, reserve_in: int, reserve_out: int) -> int:
    """Uniswap V2 ``getAmountOut`` (0.3% fee), exact integer math."""
    with_fee = amount_in * 997
    return with_fee * reserve_out // (reserve_in * 1000 + with_fee)


def largest_front_run(
    victim_in: int, victim_min_out: int, reserve_in: int, reserve_out: int, budget: int
) -> int:
    """The largest front-run ``x <= budget`` after which the victim still gets ``min_out``.

    The victim's output falls monotonically in ``x``, so a bisection on integers is exact.
    """

    def victim_gets(x: int) -> int:
        y = amount_out(x, reserve_in, reserve_out)
        return amount_out(victim_in, reserve_in + x, reserve_out - y)

    if victim_gets(0) < victim_min_out:
        return 0
    lo, hi = 0, budget
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if victim_gets(mid) >= victim_min_out:
            lo = mid
        else:
            hi = mid - 1
    return lo


@dataclass(frozen=True)
class Attack:
    victim_hash: str
    front_in: int
    front_out: int
    expected_back_out: int
    front_hash: str
    back_hash: str

    @property
    def expected_profit(self) -> int:
        return self.expected_back_out - self.front_in


@dataclass
class SandwichBot:
    """Front- and back-runs visible V2 swaps on one pool.

    Args:
        market: the pool's sandbox; the bot trades its two tokens (funded and approved).
        account: the bot's key.
        budget: most ``token_in`` the bot puts into one front-run.
    """

    market: V2Sandbox
    account: LocalAccount
    budget: int
    seen: set[str] = field(default_factory=set)
    attacks: list[Attack] = field(default_factory=list)

    def pending(self) -> list[dict[str, Any]]:
        """Transactions in anvil's public pool, as ``txpool_content`` lists them."""
        content = self.market.w3.provider.make_request("txpool_content", [])  # type: ignore[arg-type]
        pool = content.get("result") or {}
        return [tx for by_nonce in pool.get("pending", {}).values() for tx in by_nonce.values()]

    def scan(self) -> list[Attack]:
        """Look at the public pool once and attack every new victim; returns new attacks."""
        launched = []
        for tx in self.pending():
            tx_hash = str(tx["hash"]).lower()
            if tx_hash in self.seen or str(tx["from"]).lower() == self.account.address.lower():
                continue
            self.seen.add(tx_hash)
            attack = self._attack(tx)
            if attack is not None:
                launched.append(attack)
        self.attacks.extend(launched)
        return launched

    def _attack(self, tx: dict[str, Any]) -> Attack | None:
        market, router = self.market, self.market.router
        data = str(tx.get("input") or "")
        if str(tx.get("to") or "").lower() != router.address.lower():
            return None
        if not data.startswith(SWAP_EXACT_TOKENS_FOR_TOKENS):
            return None
        _, args = router.decode_function_input(data)
        path = [str(p).lower() for p in args["path"]]
        if path != [market.token_in.address.lower(), market.token_out.address.lower()]:
            return None
        victim_tip = int(str(tx.get("maxPriorityFeePerGas") or tx.get("gasPrice") or "0x0"), 16)
        if victim_tip == 0:
            return None  # no room for a back-run priced below the victim
        reserve_in, reserve_out = market.reserves()
        x = largest_front_run(
            args["amountIn"], args["amountOutMin"], reserve_in, reserve_out, self.budget
        )
        y = amount_out(x, reserve_in, reserve_out)
        victim_out = amount_out(args["amountIn"], reserve_in + x, reserve_out - y)
        back = amount_out(y, reserve_out - y - victim_out, reserve_in + x + args["amountIn"])
        if x == 0 or back <= x:
            return None
        w3, me = market.w3, self.account
        nonce = w3.eth.get_transaction_count(me.address, "pending")
        forward = [market.token_in.address, market.token_out.address]
        front = router.functions.swapExactTokensForTokens(x, y, forward, me.address, _DEADLINE)
        backrun = router.functions.swapExactTokensForTokens(
            y, x, forward[::-1], me.address, _DEADLINE
        )
        front_raw = sign_call(w3, me, front, nonce=nonce, tip=victim_tip + GWEI)
        back_raw = sign_call(w3, me, backrun, nonce=nonce + 1, tip=victim_tip - 1)
        w3.eth.send_raw_transaction(front_raw)
        w3.eth.send_raw_transaction(back_raw)
        return Attack(
            str(tx["hash"]).lower(), x, y, back, decode_tx(front_raw).hash, decode_tx(back_raw).hash
        )


@dataclass(frozen=True)
class SwapOutcome:
    """One victim swap: what it was quoted, what it got, and what the bot did."""

    route: str  # "public" | "relay"
    amount_in: int
    quoted_out: int
    min_out: int
    actual_out: int
    attacked: bool
    bot_profit: int  # token_in gained by the bot in this block

    @property
    def loss_bps(self) -> float:
        """Shortfall against the quote at send time, in basis points."""
        return (self.quoted_out - self.actual_out) * 10_000 / self.quoted_out


def swap_through(
    route: str,
    market: V2Sandbox,
    relay: LocalRelay,
    victim: LocalAccount,
    bot: SandwichBot,
    amount_in: int,
    slippage_bps: int,
    client: RelayClient | None = None,
) -> SwapOutcome:
    """Send one victim swap publicly (to anvil's pool) or privately (through ``client`` to the
    relay), let the bot look once, build the next block, and measure the victim's result."""
    w3 = market.w3
    quoted = market.quote(amount_in)
    min_out = quoted * (10_000 - slippage_bps) // 10_000
    path = [market.token_in.address, market.token_out.address]
    swap = market.router.functions.swapExactTokensForTokens(
        amount_in, min_out, path, victim.address, _DEADLINE
    )
    raw = sign_call(w3, victim, swap, tip=2 * GWEI)
    out_before = market.token_out.functions.balanceOf(victim.address).call()
    bot_before = market.token_in.functions.balanceOf(bot.account.address).call()
    if route == "public":
        w3.eth.send_raw_transaction(raw)
    elif client is not None:
        client.send_private_transaction(raw)
    else:
        raise ConfigError("route", f"'{route}' needs a RelayClient (or use 'public')")
    attacks = bot.scan()
    relay.mine_block()
    out_after = market.token_out.functions.balanceOf(victim.address).call()
    bot_after = market.token_in.functions.balanceOf(bot.account.address).call()
    return SwapOutcome(
        route,
        amount_in,
        quoted,
        min_out,
        out_after - out_before,
        bool(attacks),
        bot_after - bot_before,
    )
