"""A stateful property test of settle: random users, allowances, cancellations, intents and
keeper executions (honest or not), each sell leg sent to the executor or, sometimes, straight to
a counterpart's buy leg in the same token (a direct leg; rarely to an order that does not exist).
A malicious keeper adds to some batches what the audit (issue 13) found or listed: a side
payment to a user from an allow-listed interaction, a puppet order selling a hook token whose
transfer claims a user's own rewards for her, an allow-listed Uniswap V2 pair's flash-swap
callback doing the same, an approval left standing, a call that is not on the allow-list.
A model predicts whether each batch must settle; the chain must agree, and after every step:

- no user gave more than the signed maximum or the vault allowance;
- every buy leg received at least its signed minimum, counting only the executor's delivery and
  the direct legs sent to it (each measured around its own transfer), as the model predicts;
- no nonce settled twice (a used or cancelled nonce never settles);
- the executor never ends a transaction holding less of any token than it started with;
- every balance moved exactly as the model says (claims and side payments land, count for
  nothing, and nothing else moves), and the executor allows no spender anything.

The CI run is short (``FUZZ_ACTIONS`` unset: 15 examples of up to 8 steps); ``make fuzz`` runs
``FUZZ_ACTIONS`` (>= 10,000) actions and prints the count and the time.
"""

from __future__ import annotations

import os
import time
from collections import defaultdict
from dataclasses import dataclass

import pytest
from ape.exceptions import ContractLogicError
from eth_abi import encode
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from tests.contracts.helpers import (
    MAX_UINT160,
    MAX_UINT256,
    MINT,
    ROUTED_TOKEN,
    allow,
    call,
    raw_call,
)

UNIT = 10**6
START = 1_000 * UNIT
INITIAL_ALLOWANCE = 2_000 * UNIT


@dataclass(frozen=True)
class Leg:
    user: int
    sell: int
    buy: int
    maximum: int
    take: int
    minimum: int
    deliver: int
    nonce: int
    #: None: the sell goes to the executor; 0-2: to a batch order buying the sold token (picked
    #: among them, the executor if there is none); 3: to an order index past the batch's end.
    direct: int | None


@st.composite
def legs(draw) -> Leg:
    """Mostly honest keeper executions (within the limits), sometimes over or under them."""
    maximum = draw(st.integers(0, 400)) * UNIT
    if draw(st.integers(0, 9)) < 9:
        take = draw(st.integers(0, maximum // UNIT)) * UNIT
    else:
        take = maximum + draw(st.integers(1, 50)) * UNIT
    minimum = draw(st.integers(0, 300)) * UNIT
    if minimum == 0 or draw(st.integers(0, 9)) < 9:
        deliver = minimum + draw(st.integers(0, 30)) * UNIT
    else:
        deliver = draw(st.integers(0, minimum // UNIT - 1)) * UNIT
    return Leg(
        user=draw(st.integers(0, 2)),
        sell=draw(st.integers(0, 1)),
        buy=draw(st.integers(0, 1)),
        maximum=maximum,
        take=take,
        minimum=minimum,
        deliver=deliver,
        nonce=draw(st.integers(0, 15)),
        direct=draw(st.integers(-4, 3).map(lambda d: None if d < 0 else d)),
    )


#: What the malicious keeper adds to a batch: nothing, or one of the audit's moves.
ADVERSARIES = ("side_payment", "hook_claim", "flash_claim", "stray_approval", "unlisted_call")


@dataclass(frozen=True)
class Adversary:
    kind: str | None
    victim: int
    token: int
    amount: int


adversaries = st.builds(
    Adversary,
    kind=st.one_of(st.none(), st.sampled_from(ADVERSARIES)),
    victim=st.integers(0, 2),
    token=st.integers(0, 1),
    amount=st.integers(1, 400).map(lambda x: x * UNIT),
)


def destination(batch: list[Leg], i: int) -> int | None:
    """The order index leg ``i``'s sell is sent to (None: the executor)."""
    leg = batch[i]
    if leg.direct is None:
        return None
    if leg.direct == 3:
        return len(batch)
    buyers = [k for k, other in enumerate(batch) if other.buy == leg.sell]
    return buyers[leg.direct % len(buyers)] if buyers else None


@pytest.mark.fuzzing
@pytest.mark.slow
def test_settlement_invariants_hold_under_random_keeper_actions(
    project,
    chain,
    intents,
    executor,
    vault,
    owner,
    keeper,
    attacker,
    alice,
    bob,
    carol,
    weth_like,
    usdc,
    uniswap_v2,
):
    users, tokens = [alice, bob, carol], [weth_like, usdc]
    for token in tokens:
        allow(executor, owner, token, MINT, *ROUTED_TOKEN)
        for user in users:
            token.mint(user, START, sender=user)
            token.approve(vault, MAX_UINT256, sender=user)
            vault.approve(token, INITIAL_ALLOWANCE, 2**40, sender=user)
    # The malicious keeper's kit: rewards users are owed (one contract per token), a hook token
    # its puppet (the attacker account) sells, a flash-swap callback, the real WETH/USDC pair.
    rewards = [owner.deploy(project.ClaimableRewards, token) for token in tokens]
    for contract, token in zip(rewards, tokens, strict=True):
        token.mint(contract, 10**30, sender=owner)
    hook = attacker.deploy(project.ReentrantToken)
    intents.fund(attacker, hook, 10**30)
    callback = attacker.deploy(project.FlashSwapCallback)
    pair = uniswap_v2[1].getPair(weth_like, usdc)
    allow(executor, owner, pair, "swap(uint256,uint256,address,bytes)")
    weth_is_token0 = int(weth_like.address, 16) < int(usdc.address, 16)
    actions = [0]
    puppet_nonce = [0]
    outcomes: dict[str, int] = defaultdict(int)  # "<adversary> settled|reverted" -> count

    class SettlementMachine(RuleBasedStateMachine):
        @initialize()
        def start(self):
            self.snapshot = chain.snapshot()
            self.allowance = {(u, t): (INITIAL_ALLOWANCE, True) for u in range(3) for t in range(2)}
            self.used: set[tuple[int, int]] = set()

            self.owed = {(u, t): 0 for u in range(3) for t in range(2)}

        def teardown(self):
            chain.restore(self.snapshot)

        @rule(
            user=st.integers(0, 2),
            token=st.integers(0, 1),
            amount=st.integers(0, 2_000).map(lambda x: x * UNIT),
            unlimited=st.booleans(),
            expired=st.integers(0, 9).map(lambda x: x == 0),
        )
        def set_allowance(self, user, token, amount, unlimited, expired):
            actions[0] += 1
            amount = MAX_UINT160 if unlimited else amount
            expiration = intents.now() - 1 if expired else 2**40
            vault.approve(tokens[token], amount, expiration, sender=users[user])
            self.allowance[(user, token)] = (amount, not expired)

        @rule(user=st.integers(0, 2), nonce=st.integers(0, 15))
        def cancel(self, user, nonce):
            actions[0] += 1
            executor.invalidateNonces(0, 1 << nonce, sender=users[user])
            self.used.add((user, nonce))

        def adversary_moves(self, adversary: Adversary, orders, interactions) -> bool:
            """Adds the malicious keeper's move to the batch; whether the batch may still
            settle (a stray approval or an unlisted call never may)."""
            kind, victim, t = adversary.kind, users[adversary.victim], adversary.token
            if kind == "side_payment":
                interactions.append(call(tokens[t], "mint", victim, adversary.amount))
            elif kind in ("hook_claim", "flash_claim"):
                rewards[t].accrue(victim, adversary.amount, sender=owner)
                self.owed[(adversary.victim, t)] += adversary.amount
                claim = rewards[t].claim.encode_input(victim)
                if kind == "hook_claim":
                    hook.arm(rewards[t], claim, sender=attacker)
                    puppet_nonce[0] += 1
                    puppet = intents.intent(attacker, sells=[(hook, 1)], nonce=puppet_nonce[0])
                    orders.append(intents.order(puppet, attacker))
                else:
                    out = (0, UNIT) if weth_is_token0 else (UNIT, 0)
                    interactions += [
                        call(weth_like, "mint", executor, 10**15),
                        call(weth_like, "transfer", pair, 10**15),
                        raw_call(
                            pair,
                            "swap(uint256,uint256,address,bytes)",
                            ["uint256", "uint256", "address", "bytes"],
                            [
                                *out,
                                callback.address,
                                encode(["address", "bytes"], [rewards[t].address, claim]),
                            ],
                        ),
                    ]
            elif kind == "stray_approval":
                interactions.append(call(tokens[t], "approve", pair, 1))
                return False
            elif kind == "unlisted_call":
                interactions.append(call(tokens[t], "transferFrom", victim, keeper, 1))
                return False
            return True

        @rule(batch=st.lists(legs(), min_size=1, max_size=3), adversary=adversaries)
        def settle(self, batch, adversary):
            actions[0] += 1
            orders, mints = [], defaultdict[int, int](int)
            for i, leg in enumerate(batch):
                intent = intents.intent(
                    users[leg.user],
                    sells=[(tokens[leg.sell], leg.maximum)],
                    buys=[(tokens[leg.buy], leg.minimum)],
                    nonce=leg.nonce,
                )
                to = destination(batch, i)
                orders.append(
                    intents.order(
                        intent,
                        users[leg.user],
                        sell_amounts=[leg.take],
                        buy_amounts=[leg.deliver],
                        sell_to=[] if to is None else [(to, 0)],
                    )
                )
                mints[leg.buy] += leg.deliver
            # The counter-flow comes from interactions (open mint stands in for swaps).
            interactions = [call(tokens[t], "mint", executor, a) for t, a in mints.items() if a]
            may_settle = self.adversary_moves(adversary, orders, interactions)
            before = self.balances()
            expected_ok, net, new_allowance, credited = self.predict(batch, before)
            expected_ok &= may_settle
            held = [t.balanceOf(executor) for t in tokens]
            allowance_before = dict(self.allowance)

            try:
                receipt = intents.settle(orders, interactions, sender=keeper)
                settled = True
            except ContractLogicError:
                settled = False

            assert settled == expected_ok, (batch, adversary, self.allowance, self.used)
            direct = sum(destination(batch, i) is not None for i in range(len(batch)))
            event(f"{'settled' if settled else 'reverted'} with {min(direct, 1)}+ direct legs")
            outcomes[f"{adversary.kind or 'honest'} {'settled' if settled else 'reverted'}"] += 1
            after = self.balances()
            if not settled:
                assert after == before
                return
            key = (adversary.victim, adversary.token)
            if adversary.kind == "side_payment":
                net[key] += adversary.amount
            elif adversary.kind in ("hook_claim", "flash_claim"):
                net[key] += self.owed[key]  # paid to her, counted for nothing
                self.owed[key] = 0
            for key, delta in net.items():
                assert after[key] - before[key] == delta
            self.allowance = new_allowance
            received = [list(e.received) for e in receipt.decode_logs(executor.IntentSettled)]
            assert received[: len(batch)] == [[c] for c in credited]
            for leg, got in zip(batch, credited, strict=True):
                assert leg.take <= leg.maximum
                amount, _ = allowance_before[(leg.user, leg.sell)]
                assert leg.take <= amount
                assert got >= leg.minimum
                self.used.add((leg.user, leg.nonce))
                assert executor.isNonceUsed(users[leg.user], leg.nonce)
            assert all(t.balanceOf(executor) >= h for t, h in zip(tokens, held, strict=True))

        def predict(self, batch, balances):
            """Whether the batch must settle; if so, each balance change, the new allowances and
            what each buy leg is credited with.

            Pulls run in order (a direct leg pays its buyer at once, so a later pull may spend
            it), then the executor delivers. A buy leg is credited with the executor's delivery
            and the direct legs sent to it, each as the buyer's balance delta around that transfer
            (a direct leg from the buyer to itself moves nothing, so it brings nothing)."""
            used, allowance = set(self.used), dict(self.allowance)
            net = defaultdict[tuple[int, int], int](int)
            credited = [leg.deliver for leg in batch]
            ok = True
            for i, leg in enumerate(batch):
                key = (leg.user, leg.sell)
                amount, live = allowance[key]
                ok &= (leg.user, leg.nonce) not in used
                ok &= leg.take <= leg.maximum
                if leg.take:
                    ok &= live and leg.take <= amount
                    ok &= balances[key] + net[key] - leg.take >= 0
                    if amount != MAX_UINT160:
                        allowance[key] = (max(amount - leg.take, 0), live)
                    to = destination(batch, i)
                    if to is not None:
                        ok &= to < len(batch)  # the same token by construction otherwise
                        if to < len(batch):
                            net[(batch[to].user, leg.sell)] += leg.take
                            if batch[to].user != leg.user:
                                credited[to] += leg.take
                used.add((leg.user, leg.nonce))
                net[key] -= leg.take
            for leg, got in zip(batch, credited, strict=True):
                net[(leg.user, leg.buy)] += leg.deliver
                ok &= got >= leg.minimum
            return ok, net, allowance, credited

        def balances(self):
            return {(u, t): tokens[t].balanceOf(users[u]) for u in range(3) for t in range(2)}

        @invariant()
        def allowances_match_the_model(self):
            for (u, t), (amount, _) in self.allowance.items():
                assert vault.allowance(users[u], tokens[t]).amount == amount

        @invariant()
        def the_executor_allows_no_spender_anything(self):
            for token in tokens:
                assert token.allowance(executor, pair) == 0
                assert token.allowance(executor, keeper) == 0

    target = int(os.environ.get("FUZZ_ACTIONS", "0"))
    SettlementMachine.TestCase.settings = settings(
        max_examples=15 if not target else 20,
        stateful_step_count=8 if not target else 25,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    started = time.monotonic()
    SettlementMachine.TestCase().runTest()
    while actions[0] < target:  # make fuzz: campaigns until the target count of actions
        SettlementMachine.TestCase().runTest()
    if target:
        elapsed = time.monotonic() - started
        print(f"\nfuzz: {actions[0]} stateful actions in {elapsed:.0f} s, 0 invariant breaks")
        print("fuzz: batches by keeper move and outcome:", dict(sorted(outcomes.items())))
