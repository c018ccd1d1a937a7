"""What the pipeline asks a planner, and what a planner answers (see
:mod:`keeper.settlement.planner` for the netting + routing implementation)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from keeper.chain.head import Head
from keeper.intents.types import RebalanceIntent, TokenAmount
from keeper.intents.validation import SignedIntent
from keeper.settlement.gas import FeeQuote
from keeper.settlement.transaction import Settlement


@dataclass(frozen=True)
class Candidate:
    id: str
    signed: SignedIntent
    attempts: int

    @classmethod
    def from_stored(cls, intent_id: str, payload: Mapping[str, Any], attempts: int) -> Candidate:
        return cls(intent_id, stored_intent(payload), attempts)


_WIRE_KEYS = frozenset({"intent", "signature", "chainId"})
_INTENT_KEYS = frozenset(
    {"owner", "executor", "keeper", "nonce", "validAfter", "deadline", "sells", "buys"}
    | {"feeToken", "maxFee"}
)


def stored_intent(payload: Mapping[str, Any]) -> SignedIntent:
    """A stored submission back as a :class:`SignedIntent`, without validating it again.

    The store holds only what intake validated, in the wire form ``SignedIntent.to_wire()``
    writes (checksummed addresses, integer strings); re-validating costs ~0.5 ms per intent
    (checksums), a third of a 64-order cycle's budget. A payload of any other shape (a field
    added since) goes through full validation. Equality with validation is tested.
    """
    intent = payload.get("intent")
    if (
        not _WIRE_KEYS.issuperset(payload)
        or not isinstance(intent, Mapping)
        or set(intent) != _INTENT_KEYS
    ):
        return SignedIntent.model_validate(payload)

    def legs(key: str) -> tuple[TokenAmount, ...]:
        return tuple(
            TokenAmount.model_construct(token=str(leg["token"]), amount=int(leg["amount"]))
            for leg in intent[key]
        )

    signature = str(payload["signature"])
    return SignedIntent.model_construct(
        intent=RebalanceIntent.model_construct(
            owner=str(intent["owner"]),
            executor=str(intent["executor"]),
            keeper=str(intent["keeper"]),
            nonce=int(intent["nonce"]),
            valid_after=int(intent["validAfter"]),
            deadline=int(intent["deadline"]),
            sells=legs("sells"),
            buys=legs("buys"),
            fee_token=str(intent["feeToken"]),
            max_fee=int(intent["maxFee"]),
        ),
        signature=bytes.fromhex(signature.removeprefix("0x")),
        chain_id=payload.get("chainId"),
    )


@dataclass(frozen=True)
class Plan:
    """A planner's answer: the settlement (or none), intents it left out and why, its value."""

    settlement: Settlement | None
    dropped: dict[str, str] = field(default_factory=dict)
    #: left out through no fault of their own (e.g. their route shares a pool): next block
    deferred: list[str] = field(default_factory=list)
    notional_usd: float = 0.0
    eth_usd: float = 0.0
    #: the residual routes (keeper.routing.Route), in the order the settlement executes them
    routes: tuple[Any, ...] = ()
    #: how each token pair cleared (keeper.routing.netting.PairClearing): what users sold and
    #: what of it was routed (``keeper.routing.netting.netted_flow`` reads the netted share)
    clearings: tuple[Any, ...] = ()
    #: seconds spent per planning stage (e.g. snapshot, net, build), for the cycle report
    timings: dict[str, float] = field(default_factory=dict)


class Planner(Protocol):
    def plan(self, batch: Sequence[Candidate], head: Head, fees: FeeQuote) -> Plan: ...
