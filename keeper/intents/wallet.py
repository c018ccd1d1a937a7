"""Intents signed in a wallet: the typed-data document out, the wallet's signature back in.

``typed_data_document`` is the exact ``eth_signTypedData_v4`` payload (uints as decimal
strings, JavaScript-safe). ``signed_from_typed_data`` turns that same document and the
wallet's 65-byte signature into a submission, after checking locally that the document is an
intent of this protocol and that the signature recovers to its owner: a wrong account or chain
is reported here, not by the keeper.
"""

from __future__ import annotations

from typing import Any

from keeper.exceptions import KeeperError
from keeper.intents.signing import SigningError, recover_intent_signer
from keeper.intents.types import DOMAIN_NAME, DOMAIN_VERSION, IntentFormatError, RebalanceIntent
from keeper.intents.validation import SignedIntent

#: what to tell someone who signs with ethers rather than a JSON-RPC wallet
ETHERS_NOTE = (
    "eth_signTypedData_v4 takes this file as is; ethers' signer.signTypedData(domain, types, "
    "message) takes `types` WITHOUT the EIP712Domain entry (ethers derives it from `domain`)"
)


class TypedDataError(KeeperError):
    """A typed-data document or its signature does not make a valid intent submission."""

    def __init__(self, field: str, problem: str) -> None:
        self.field, self.problem = field, problem
        super().__init__(f"{field}: {problem}")


def typed_data_document(intent: RebalanceIntent, chain_id: int) -> dict[str, Any]:
    """The ``eth_signTypedData_v4`` JSON for ``intent`` on ``chain_id``."""
    return intent.wallet_typed_data(chain_id)


def parse_signature(text: str) -> bytes:
    cleaned = text.strip().removeprefix("0x").removeprefix("0X")
    try:
        raw = bytes.fromhex(cleaned)
    except ValueError:
        raise TypedDataError("--signature", "expected 0x followed by 130 hex digits") from None
    if len(raw) != 65:
        raise TypedDataError("--signature", f"{len(raw)} bytes, expected 65 (r || s || v)")
    return raw


def signed_from_typed_data(document: Any, signature: bytes) -> SignedIntent:
    """A submission from the typed data a wallet signed and its signature."""
    if not isinstance(document, dict):
        raise TypedDataError("typed data", "expected a JSON object (eth_signTypedData_v4)")
    if document.get("primaryType") != "RebalanceIntent":
        raise TypedDataError(
            "primaryType", f"{document.get('primaryType')!r}, expected 'RebalanceIntent'"
        )
    domain = document.get("domain") or {}
    if (domain.get("name"), str(domain.get("version"))) != (DOMAIN_NAME, DOMAIN_VERSION):
        raise TypedDataError(
            "domain",
            f"{domain.get('name')!r} v{domain.get('version')}, expected {DOMAIN_NAME} "
            f"v{DOMAIN_VERSION}",
        )
    try:
        chain_id = int(domain["chainId"])
    except (KeyError, TypeError, ValueError):
        raise TypedDataError("domain.chainId", "missing or not an integer") from None
    try:
        intent = RebalanceIntent.parse(document.get("message"))
    except IntentFormatError as err:
        raise TypedDataError(f"message.{err.field}", err.problem) from None
    if str(domain.get("verifyingContract", "")).lower() != intent.executor.lower():
        raise TypedDataError(
            "domain.verifyingContract",
            f"{domain.get('verifyingContract')} is not the intent's executor {intent.executor}",
        )
    try:
        signer = recover_intent_signer(intent, signature, chain_id)
    except (SigningError, ValueError) as err:
        raise TypedDataError("--signature", str(err)) from None
    if signer.lower() != intent.owner.lower():
        raise TypedDataError(
            "--signature",
            f"recovers to {signer}, not the intent's owner {intent.owner} (signed with another "
            "account, or another document)",
        )
    return SignedIntent(intent=intent, signature=signature, chain_id=chain_id)
