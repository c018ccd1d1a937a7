"""State-changing requests, authorised by the owner's EIP-712 signature (never a password or a
cookie): pause, resume, a manual trigger, new targets.

The signed struct binds everything the request depends on, each for a reason:

* ``chainId`` and ``verifyingContract`` (the executor), in the domain: a request for one
  deployment cannot be replayed against another;
* ``owner``: whose strategy changes; the signature must recover to it;
* ``action`` and ``targets``: what changes (``targets`` is the canonical JSON of the new
  weights, empty for the other actions), so a signature for "pause" cannot be used to resume;
* ``nonce``: each request works once (kept in the store's ``control_requests``);
* ``deadline``: a prepared request that was never sent goes stale (unix seconds, wall clock).
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable, Mapping
from typing import Any, Literal

from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_utils import is_address, to_checksum_address
from pydantic import BaseModel, ConfigDict, Field, field_validator

from keeper.exceptions import KeeperError
from keeper.intents.ledger import ControlReplayError, Ledger
from keeper.strategy.controls import ControlState, ControlStore

Action = Literal["pause", "resume", "trigger", "targets"]
ACTIONS: tuple[str, ...] = ("pause", "resume", "trigger", "targets")

DOMAIN_NAME = "Rebalancer Control"
DOMAIN_VERSION = "1"

CONTROL_TYPES: dict[str, list[dict[str, str]]] = {
    "EIP712Domain": [
        {"name": "name", "type": "string"},
        {"name": "version", "type": "string"},
        {"name": "chainId", "type": "uint256"},
        {"name": "verifyingContract", "type": "address"},
    ],
    "ControlRequest": [
        {"name": "owner", "type": "address"},
        {"name": "action", "type": "string"},
        {"name": "targets", "type": "string"},
        {"name": "nonce", "type": "uint256"},
        {"name": "deadline", "type": "uint256"},
    ],
}


class ControlError(KeeperError):
    """A control request was refused: the message says which field and why."""

    def __init__(self, field: str, message: str, status: int = 403) -> None:
        self.field = field
        self.status = status
        super().__init__(f"{field}: {message}")


class ControlRequest(BaseModel):
    """The signed message (the ``message`` of the typed data)."""

    model_config = ConfigDict(extra="forbid")

    owner: str
    action: Action
    targets: str = ""
    nonce: int = Field(ge=0, lt=2**256)
    deadline: int = Field(ge=0, lt=2**256)

    @field_validator("owner")
    @classmethod
    def _address(cls, value: str) -> str:
        if not is_address(value):
            raise ValueError(f"not an address: {value!r}")
        return to_checksum_address(value)


class SignedControl(BaseModel):
    """What a client POSTs: the request and the owner's 65-byte signature (0x-hex)."""

    model_config = ConfigDict(extra="forbid")

    request: ControlRequest
    signature: str = Field(pattern=r"^0x[0-9a-fA-F]{130}$")


def canonical_targets(targets: Mapping[str, float] | None) -> str:
    """The ``targets`` string that is signed: sorted keys, no spaces (empty for none)."""
    if not targets:
        return ""
    return json.dumps({k: float(v) for k, v in sorted(targets.items())}, separators=(",", ":"))


def typed_data(request: ControlRequest, chain_id: int, executor: str) -> dict[str, Any]:
    """EIP-712 typed data for ``eth_signTypedData_v4`` (a wallet) or eth-account."""
    return {
        "types": CONTROL_TYPES,
        "primaryType": "ControlRequest",
        "domain": {
            "name": DOMAIN_NAME,
            "version": DOMAIN_VERSION,
            "chainId": chain_id,
            "verifyingContract": to_checksum_address(executor),
        },
        "message": request.model_dump(),
    }


def prepare(
    owner: str,
    action: str,
    *,
    targets: Mapping[str, float] | None = None,
    ttl_s: int = 600,
    clock: Callable[[], float] = time.time,
) -> ControlRequest:
    """A fresh request (random 64-bit nonce, deadline ``ttl_s`` from now) for the owner to sign."""
    if action not in ACTIONS:
        raise ControlError("action", f"{action!r} is not one of {', '.join(ACTIONS)}", 422)
    if action == "targets" and not targets:
        raise ControlError("targets", "a targets request needs the new weights", 422)
    return ControlRequest(
        owner=owner,
        action=action,
        targets=canonical_targets(targets) if action == "targets" else "",
        nonce=secrets.randbits(64),
        deadline=int(clock()) + ttl_s,
    )


def sign(request: ControlRequest, account: Any, chain_id: int, executor: str) -> str:
    """The owner's signature (what a wallet or ``keeper dashboard control`` produces), with an
    eth-account account or an Ape account (alias)."""
    message = encode_typed_data(full_message=typed_data(request, chain_id, executor))
    signed = account.sign_message(message)
    if signed is None:
        raise ControlError("signature", f"account {account.address} declined to sign", 422)
    raw = getattr(signed, "signature", None)  # eth-account SignedMessage
    if raw is None and hasattr(signed, "encode_rsv"):  # Ape MessageSignature
        raw = signed.encode_rsv()
    if raw is None or len(bytes(raw)) != 65:
        raise ControlError("signature", f"unexpected signature {type(signed).__name__}", 422)
    return "0x" + bytes(raw).hex()


def recover(signed: SignedControl, chain_id: int, executor: str) -> str:
    message = encode_typed_data(full_message=typed_data(signed.request, chain_id, executor))
    try:
        return str(Account.recover_message(message, signature=signed.signature))
    except (ValueError, TypeError) as err:
        raise ControlError("signature", f"not a valid signature ({err})") from None


def authorise(
    signed: SignedControl,
    *,
    owner: str,
    chain_id: int,
    executor: str,
    ledger: Ledger,
    clock: Callable[[], float] = time.time,
) -> None:
    """Accept ``signed`` for ``owner``'s strategy or raise :class:`ControlError`.

    Checks, in order: the request names this owner, is not past its deadline, the signature
    recovers to the owner, and its nonce was never used (recorded now, so it works once)."""
    request = signed.request
    if request.owner.lower() != owner.lower():
        raise ControlError("request.owner", f"{request.owner} is not the owner {owner}")
    now = int(clock())
    if request.deadline < now:
        raise ControlError("request.deadline", f"passed ({request.deadline} < now {now})")
    signer = recover(signed, chain_id, executor)
    if signer.lower() != owner.lower():
        raise ControlError("signature", f"signed by {signer}, not by the owner {owner}")
    try:
        ledger.use_control_nonce(owner, request.nonce, request.action)
    except ControlReplayError as err:
        raise ControlError("request.nonce", str(err).removeprefix("nonce: "), 409) from None


def apply(request: ControlRequest, controls: ControlStore) -> ControlState:
    """Carry out an authorised request on the owner's control state."""
    if request.action == "pause":
        return controls.pause()
    if request.action == "resume":
        return controls.resume()
    if request.action == "trigger":
        return controls.trigger()
    try:
        targets = json.loads(request.targets)
    except json.JSONDecodeError as err:
        raise ControlError("request.targets", f"not JSON weights ({err})", 422) from None
    return controls.set_targets(targets)
