"""EIP-712 digests and signatures for intents and vault permits.

Signing works with an eth-account ``LocalAccount`` or an Ape account (test accounts, keyfile
aliases): both expose ``sign_message(SignableMessage)``. Signatures are the 65-byte
``r || s || v`` form the contract verifies (OpenZeppelin ``ECDSA``: low-s only, v in {27, 28}).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from keeper.exceptions import KeeperError
from keeper.intents.signatures import SECP256K1_N as SECP256K1_N  # re-exported
from keeper.intents.types import AllowancePermit, RebalanceIntent

if TYPE_CHECKING:
    from eth_account.messages import SignableMessage


class SigningError(KeeperError):
    """A signature could not be produced or does not have the expected form."""

    def __init__(self, what: str, problem: str) -> None:
        self.what = what
        self.problem = problem
        super().__init__(f"signing {what}: {problem}")


def _signable(typed_data: dict[str, Any]) -> SignableMessage:
    from eth_account.messages import encode_typed_data

    return encode_typed_data(full_message=typed_data)


def _digest(message: SignableMessage) -> bytes:
    from eth_account.messages import _hash_eip191_message

    return bytes(_hash_eip191_message(message))


def intent_digest(intent: RebalanceIntent, chain_id: int) -> bytes:
    """The 32-byte EIP-712 digest the executor's ``hashIntent`` returns for ``intent``."""
    return _digest(_signable(intent.typed_data(chain_id)))


def intent_struct_hash(intent: RebalanceIntent) -> bytes:
    """``hashStruct(intent)`` (without the domain), as in the contract's hashing library."""
    from eth_account._utils.encode_typed_data.encoding_and_hashing import hash_struct

    types = {k: v for k, v in intent.typed_data(1)["types"].items() if k != "EIP712Domain"}
    return bytes(hash_struct("RebalanceIntent", types, intent.eip712_message()))


def permit_digest(permit: AllowancePermit, chain_id: int, vault: str) -> bytes:
    """The EIP-712 digest of an allowance permit for the vault at ``vault``."""
    return _digest(_signable(permit.typed_data(chain_id, vault)))


def _sign(typed_data: dict[str, Any], account: Any, what: str) -> bytes:
    signed = account.sign_message(_signable(typed_data))
    if signed is None:
        raise SigningError(what, f"account {getattr(account, 'address', account)} declined")
    raw = getattr(signed, "signature", None)  # eth-account SignedMessage
    if raw is None and hasattr(signed, "encode_rsv"):  # Ape MessageSignature
        raw = signed.encode_rsv()
    if raw is None or len(bytes(raw)) != 65:
        raise SigningError(what, f"unexpected signature object {type(signed).__name__}")
    return bytes(raw)


def sign_intent(intent: RebalanceIntent, account: Any, chain_id: int) -> bytes:
    """Sign ``intent`` with ``account`` (which must be ``intent.owner``); 65 bytes r||s||v."""
    signer = str(getattr(account, "address", ""))
    if signer.lower() != intent.owner.lower():
        raise SigningError("intent", f"signer {signer} is not the intent owner {intent.owner}")
    return _sign(intent.typed_data(chain_id), account, "intent")


def sign_intent_digest(intent: RebalanceIntent, account: Any, chain_id: int) -> bytes:
    """``account``'s ECDSA signature of the intent's EIP-712 digest itself (no prefix): the form
    a smart wallet (``intent.owner``) whose ERC-1271 check accepts its signer's signature of the
    digest expects, ``account`` being that signer. Whether the wallet accepts it is the wallet's
    rule; intake asks the wallet (:mod:`keeper.intents.signatures`)."""
    digest = intent_digest(intent, chain_id)
    raw: Any = None
    if hasattr(account, "sign_raw_msghash"):  # Ape accounts
        signed = account.sign_raw_msghash(digest)
        raw = signed.encode_rsv() if signed is not None else None
    elif hasattr(account, "unsafe_sign_hash"):  # eth-account LocalAccount
        raw = account.unsafe_sign_hash(digest).signature
    if raw is None or len(bytes(raw)) != 65:
        signer = getattr(account, "address", account)
        raise SigningError("intent", f"account {signer} did not sign the intent's digest")
    return bytes(raw)


def sign_permit(permit: AllowancePermit, account: Any, chain_id: int, vault: str) -> bytes:
    """Sign a vault allowance permit with ``account`` (which must be ``permit.owner``)."""
    signer = str(getattr(account, "address", ""))
    if signer.lower() != permit.owner.lower():
        raise SigningError("permit", f"signer {signer} is not the permit owner {permit.owner}")
    return _sign(permit.typed_data(chain_id, vault), account, "permit")


def recover_intent_signer(intent: RebalanceIntent, signature: bytes, chain_id: int) -> str:
    """The address whose ECDSA signature of ``intent`` this is, read as the executor reads it
    (65 bytes, low-s, v in {27, 28}); SigningError otherwise. Intake's full rule, with ERC-1271
    wallets and v in {0, 1}, is :func:`keeper.intents.signatures.settleable_signature`."""
    from keeper.intents.signatures import SignatureRefusedError, ecdsa_signer

    try:
        return ecdsa_signer(intent_digest(intent, chain_id), signature)
    except SignatureRefusedError as err:
        raise SigningError("intent", err.problem) from None
