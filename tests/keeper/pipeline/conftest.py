"""A deployed executor, test tokens and funded users for the keeper's on-chain tests."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from keeper.intents.signing import sign_intent
from keeper.intents.types import Execution, Order, RebalanceIntent, TokenAmount
from keeper.intents.validation import SignedIntent

MAX_UINT160 = 2**160 - 1
MAX_UINT256 = 2**256 - 1
FAR_FUTURE = 2**40
E18 = 10**18
E6 = 10**6


@pytest.fixture(scope="session")
def executor(project, owner, keeper, accounts):
    contract = owner.deploy(project.BatchExecutor, owner, accounts[5], 0, [keeper], [])
    return contract


@pytest.fixture(scope="session")
def decoder(executor):
    from keeper.settlement.abi import ErrorDecoder

    return ErrorDecoder([item.model_dump(mode="json") for item in executor.contract_type.abi])


@pytest.fixture(scope="session")
def vault(project, executor):
    return project.AllowanceVault.at(executor.vault())


@pytest.fixture(scope="session")
def weth(project, owner):
    return owner.deploy(project.TestToken, "Wrapped Ether", "WETH", 18)


@pytest.fixture(scope="session")
def usdc(project, owner):
    return owner.deploy(project.TestToken, "USD Coin", "USDC", 6)


@dataclass
class Users:
    """Funds users and signs intents the way a wallet would (keeper's own typed data)."""

    executor: Any
    vault: Any
    chain: Any

    @property
    def chain_id(self) -> int:
        return int(self.chain.chain_id)

    def now(self) -> int:
        return int(self.chain.blocks.head.timestamp)

    def fund(self, user, token, amount: int, allowance: int = MAX_UINT160) -> None:
        token.mint(user, amount, sender=user)
        token.approve(self.vault, MAX_UINT256, sender=user)
        self.vault.approve(token, allowance, FAR_FUTURE, sender=user)

    def intent(self, user, sells, buys, nonce: int = 0, **fields) -> RebalanceIntent:
        return RebalanceIntent(
            owner=user.address,
            executor=self.executor.address,
            nonce=nonce,
            deadline=fields.pop("deadline", self.now() + 3600),
            sells=[TokenAmount(token=t.address, amount=a) for t, a in sells],
            buys=[TokenAmount(token=t.address, amount=a) for t, a in buys],
            **fields,
        )

    def signed(self, intent: RebalanceIntent, user) -> SignedIntent:
        return SignedIntent(intent=intent, signature=sign_intent(intent, user, self.chain_id))

    def order(self, intent: RebalanceIntent, user, buy_amounts=None) -> Order:
        return Order(
            intent=intent,
            signature=sign_intent(intent, user, self.chain_id),
            execution=Execution(
                sell_amounts=[leg.amount for leg in intent.sells],
                buy_amounts=buy_amounts or [leg.amount for leg in intent.buys],
            ),
        )


@pytest.fixture(scope="session")
def users(executor, vault, chain) -> Users:
    return Users(executor=executor, vault=vault, chain=chain)
