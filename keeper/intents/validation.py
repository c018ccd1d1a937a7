"""Checks an intent must pass before the keeper accepts it.

Three layers, cheapest first, each raising :class:`IntentRejectedError` that names the field:

1. format — the wire JSON parses into :class:`SignedIntent` (types, addresses, uint ranges);
2. policy — chain and executor, signer, deadline window, designated keeper, supported tokens
   and sane limits (pure: no I/O beyond the signature recovery);
3. chain — nonce unused on-chain, and for each sell leg: the owner's balance, the ERC-20
   approval of the vault and the vault allowance (amount and expiry) cover the signed maximum.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, ValidationError
from pydantic.alias_generators import to_camel

from keeper.exceptions import KeeperError
from keeper.intents.signatures import SignatureRefusedError, Wallets, settleable_signature
from keeper.intents.signing import intent_digest
from keeper.intents.types import (
    ZERO_ADDRESS,
    HexBytes,
    IntentFormatError,
    RebalanceIntent,
    TokenAmount,
)
from keeper.units import format_units

#: error codes a client can switch on (the message names the field and the values)
CODES = (
    "malformed",
    "wrong_domain",
    "bad_signature",
    "expired",
    "not_yet_valid",
    "wrong_keeper",
    "unsupported_token",
    "limit",
    "nonce_used",
    "insufficient_balance",
    "insufficient_allowance",
)


class IntentRejectedError(KeeperError):
    """An intent was refused; ``field`` is its JSON path (``intent.sells.0.amount``)."""

    def __init__(self, field: str, problem: str, code: str = "malformed") -> None:
        self.field = field
        self.problem = problem
        self.code = code
        super().__init__(f"{field}: {problem}")

    def as_json(self) -> dict[str, str]:
        return {"field": self.field, "problem": self.problem, "code": self.code}


class SignedIntent(BaseModel):
    """What a user submits: the intent, its EIP-712 signature and (optionally) its chain id."""

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, frozen=True, extra="forbid"
    )

    intent: RebalanceIntent
    signature: HexBytes
    chain_id: int | None = None

    def to_wire(self) -> dict[str, Any]:
        return dict(self.model_dump(mode="json", by_alias=True, exclude_none=True))


def parse_submission(raw: str | bytes | dict[str, Any]) -> SignedIntent:
    """Parse a submission; malformed JSON, wrong types or bad values name the field."""
    try:
        if isinstance(raw, str | bytes):
            try:
                data = json.loads(raw)
            except (ValueError, UnicodeDecodeError) as err:
                raise IntentRejectedError("<body>", f"not valid JSON ({err})") from None
        else:
            data = raw
        if not isinstance(data, dict):
            raise IntentRejectedError(
                "<body>", f"expected a JSON object, got {type(data).__name__}"
            )
        return SignedIntent.model_validate(data)
    except ValidationError as err:
        raise _format_error(err) from None


def _format_error(err: ValidationError) -> IntentRejectedError:
    first = IntentFormatError.from_validation(err)
    return IntentRejectedError(first.field, first.problem)


@dataclass(frozen=True)
class IntentPolicy:
    """The keeper's side of the domain and its limits (from settings and the deployment)."""

    chain_id: int
    executor: str
    keeper: str | None = None  # this keeper's address (None in paper mode)
    supported_tokens: Collection[str] = ()  # empty = any token
    max_legs_per_side: int = 8
    max_deadline_horizon_s: int = 30 * 24 * 3600
    min_time_to_deadline_s: int = 24

    def check(self, signed: SignedIntent, chain_time: int) -> bytes:
        """Run the policy checks (all but the signature: :func:`check_signature`); returns the
        intent's EIP-712 digest (its id)."""
        intent = signed.intent
        if signed.chain_id is not None and signed.chain_id != self.chain_id:
            raise IntentRejectedError(
                "chainId", f"{signed.chain_id} is not this chain ({self.chain_id})", "wrong_domain"
            )
        if intent.executor.lower() != self.executor.lower():
            raise IntentRejectedError(
                "intent.executor",
                f"{intent.executor} is not this keeper's executor {self.executor}",
                "wrong_domain",
            )
        self._check_window(intent, chain_time)
        if intent.keeper != ZERO_ADDRESS and (
            self.keeper is None or intent.keeper.lower() != self.keeper.lower()
        ):
            raise IntentRejectedError(
                "intent.keeper", f"designates {intent.keeper}, not this keeper", "wrong_keeper"
            )
        self._check_legs(intent)
        return intent_digest(intent, self.chain_id)

    def _check_window(self, intent: RebalanceIntent, chain_time: int) -> None:
        if intent.deadline < chain_time + self.min_time_to_deadline_s:
            raise IntentRejectedError(
                "intent.deadline",
                f"{_when(intent.deadline)} is past or within {self.min_time_to_deadline_s} s "
                f"of the chain's time {_when(chain_time)}",
                "expired",
            )
        if intent.deadline > chain_time + self.max_deadline_horizon_s:
            raise IntentRejectedError(
                "intent.deadline",
                f"{_when(intent.deadline)} is more than "
                f"{self.max_deadline_horizon_s / 86400:g} days ahead of the chain's time",
                "limit",
            )
        if intent.valid_after > intent.deadline - self.min_time_to_deadline_s:
            raise IntentRejectedError(
                "intent.validAfter",
                f"{_when(intent.valid_after)} leaves no time to settle before the deadline",
                "limit",
            )

    def _check_legs(self, intent: RebalanceIntent) -> None:
        if not intent.sells or not intent.buys:
            side = "sells" if not intent.sells else "buys"
            raise IntentRejectedError(f"intent.{side}", "must have at least one leg", "limit")
        supported = {t.lower() for t in self.supported_tokens}
        for side, legs in (("sells", intent.sells), ("buys", intent.buys)):
            if len(legs) > self.max_legs_per_side:
                raise IntentRejectedError(
                    f"intent.{side}",
                    f"{len(legs)} legs, at most {self.max_legs_per_side}",
                    "limit",
                )
            seen: set[str] = set()
            for i, leg in enumerate(legs):
                _check_leg(f"intent.{side}.{i}", leg, supported, seen)
        both = {leg.token for leg in intent.sells} & {leg.token for leg in intent.buys}
        if both:
            raise IntentRejectedError(
                "intent.buys", f"token {sorted(both)[0]} is both sold and bought", "limit"
            )
        if intent.max_fee and supported and intent.fee_token.lower() not in supported:
            raise IntentRejectedError(
                "intent.feeToken", f"{intent.fee_token} is not supported", "unsupported_token"
            )


def _check_leg(path: str, leg: TokenAmount, supported: set[str], seen: set[str]) -> None:
    if supported and leg.token.lower() not in supported:
        raise IntentRejectedError(
            f"{path}.token", f"{leg.token} is not a supported token", "unsupported_token"
        )
    if leg.token in seen:
        raise IntentRejectedError(f"{path}.token", f"{leg.token} appears twice", "limit")
    seen.add(leg.token)
    if leg.amount == 0:
        raise IntentRejectedError(f"{path}.amount", "must be greater than zero", "limit")


def check_signature(signed: SignedIntent, digest: bytes, wallets: Wallets | None) -> SignedIntent:
    """``signed`` with the signature in the form ``settle`` accepts (see
    :mod:`keeper.intents.signatures`); ``wallets`` None checks ECDSA only."""
    owner = signed.intent.owner
    try:
        signature = settleable_signature(owner, digest, signed.signature, wallets)
    except SignatureRefusedError as err:
        raise IntentRejectedError("signature", err.problem, "bad_signature") from None
    if signature == signed.signature:
        return signed
    return signed.model_copy(update={"signature": signature})


class ChainState(Wallets, Protocol):
    """The on-chain facts intake needs (implemented over web3 in keeper.intents.chainstate)."""

    def nonce_used(self, owner: str, nonce: int) -> bool: ...

    def balance(self, token: str, owner: str) -> int: ...

    def token_allowance(self, token: str, owner: str) -> int:
        """ERC-20 allowance from ``owner`` to the vault."""
        ...

    def vault_allowance(self, owner: str, token: str) -> tuple[int, int]:
        """(amount, expiration) of the owner's vault allowance for ``token``."""
        ...

    def token_info(self, token: str) -> tuple[str, int] | None:
        """``(symbol, decimals)`` of ``token``, or None if it has none (for messages)."""
        ...


class _Short:
    """A sell leg the owner cannot cover, in the words of the message: amounts in whole tokens
    with the symbol (base units and the address only for a token without them) and the command
    that fixes it. Built only on the error path: the token's metadata costs two reads."""

    def __init__(self, chain: ChainState, leg: TokenAmount) -> None:
        self.leg, self.info = leg, chain.token_info(leg.token)
        self.symbol = self.info[0] if self.info else leg.token
        self.wanted = self.tokens(leg.amount)

    def tokens(self, units: int) -> str:
        if self.info is None:
            return f"{units} base units of {self.leg.token}"
        return f"{format_units(units, self.info[1])} {self.info[0]}"

    @property
    def fix(self) -> str:
        amount = format_units(self.leg.amount, self.info[1]) if self.info else "AMOUNT"
        return f"fix: keeper vault approve {self.leg.token} {amount} --account YOUR_ACCOUNT"


def _when(timestamp: int) -> str:
    from datetime import UTC, datetime

    if timestamp >= 2**47:
        return "never"
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def check_on_chain(intent: RebalanceIntent, chain: ChainState, chain_time: int) -> None:
    """Nonce unused; balances and both allowances cover every sell leg's maximum."""
    if chain.nonce_used(intent.owner, intent.nonce):
        raise IntentRejectedError(
            "intent.nonce",
            f"{intent.nonce} of {intent.owner} is already used or cancelled on-chain",
            "nonce_used",
        )
    for i, leg in enumerate(intent.sells):
        path = f"intent.sells.{i}.amount"
        balance = chain.balance(leg.token, intent.owner)
        if balance < leg.amount:
            short = _Short(chain, leg)
            raise IntentRejectedError(
                path,
                f"{short.wanted} exceeds the owner's balance of {short.tokens(balance)}",
                "insufficient_balance",
            )
        approved = chain.token_allowance(leg.token, intent.owner)
        if approved < leg.amount:
            short = _Short(chain, leg)
            raise IntentRejectedError(
                path,
                f"{short.wanted} exceeds the owner's ERC-20 approval of the vault "
                f"({short.tokens(approved)}); {short.fix}",
                "insufficient_allowance",
            )
        amount, expiration = chain.vault_allowance(intent.owner, leg.token)
        if amount < leg.amount:
            short = _Short(chain, leg)
            raise IntentRejectedError(
                path,
                f"{short.wanted} exceeds the owner's vault allowance ({short.tokens(amount)}); "
                f"{short.fix}",
                "insufficient_allowance",
            )
        if expiration <= chain_time:
            short = _Short(chain, leg)
            raise IntentRejectedError(
                path,
                f"the owner's vault allowance for {short.symbol} expired at {_when(expiration)}; "
                f"{short.fix} --expires 30d",
                "insufficient_allowance",
            )
