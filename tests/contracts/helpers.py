"""Helpers for the executor suite: build, sign and encode orders the way the keeper does."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from keeper.intents.signing import sign_intent
from keeper.intents.types import Execution, Interaction, Order, RebalanceIntent, TokenAmount

MAX_UINT160 = 2**160 - 1
MAX_UINT256 = 2**256 - 1
FAR_FUTURE = 2**40  # fits uint48 (vault expiration) and is centuries away


@dataclass
class Intents:
    """Builds, signs and encodes orders the way the keeper does."""

    executor: Any
    vault: Any
    chain: Any
    chain_id: int

    def now(self) -> int:
        """The chain's time, as both a view call and the next transaction will see it.

        anvil runs ``eth_call`` at the latest block's timestamp while new blocks take the wall
        clock, so after an idle second the two disagree; mining a block first makes them equal
        (up to the seconds a test takes), whichever way the intent is checked.
        """
        self.chain.mine()
        return int(self.chain.blocks.head.timestamp)

    def fund(self, user, token, amount: int, allowance: int = MAX_UINT160, expiration=None):
        """Mint ``amount`` to ``user``, approve the vault on the token, set the vault allowance."""
        token.mint(user, amount, sender=user)
        if token.allowance(user, self.vault) == 0:
            token.approve(self.vault, MAX_UINT256, sender=user)
        self.vault.approve(token, allowance, expiration or FAR_FUTURE, sender=user)

    def intent(
        self,
        owner,
        sells=(),
        buys=(),
        nonce: int = 0,
        deadline: int | None = None,
        **fields: Any,
    ) -> RebalanceIntent:
        return RebalanceIntent(
            owner=owner.address,
            executor=fields.pop("executor", self.executor.address),
            nonce=nonce,
            deadline=deadline if deadline is not None else self.now() + 3600,
            sells=[TokenAmount(token=_addr(t), amount=a) for t, a in sells],
            buys=[TokenAmount(token=_addr(t), amount=a) for t, a in buys],
            **fields,
        )

    def sign(self, intent: RebalanceIntent, account, chain_id: int | None = None) -> bytes:
        return sign_intent(intent, account, chain_id or self.chain_id)

    def order(
        self,
        intent: RebalanceIntent,
        signer=None,
        sell_amounts=None,
        buy_amounts=None,
        fee: int = 0,
        signature: bytes | None = None,
    ) -> Order:
        """An order that executes the intent at its limits unless amounts are given."""
        if signature is None:
            signature = self.sign(intent, signer)
        return Order(
            intent=intent,
            signature=signature,
            execution=Execution(
                sell_amounts=sell_amounts or [leg.amount for leg in intent.sells],
                buy_amounts=buy_amounts or [leg.amount for leg in intent.buys],
                fee=fee,
            ),
        )

    def settle(self, orders, interactions=(), sender=None, **kwargs):
        return self.executor.settle(
            [o.as_abi() for o in orders],
            [i.as_abi() for i in interactions],
            sender=sender,
            **kwargs,
        )


def _addr(value: Any) -> str:
    return value if isinstance(value, str) else str(value.address)


def call(target, method: str, *args) -> Interaction:
    """An Interaction calling ``target.method(*args)``."""
    data = getattr(target, method).encode_input(*args)
    return Interaction(target=target.address, value=0, call_data=bytes(data))
