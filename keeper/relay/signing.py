"""The ``X-Flashbots-Signature`` header: make it (client) and check it (local relay).

The header is ``<address>:<signature>``. The signature is an EIP-191 ``personal_sign`` of the
*text* ``"0x" + lowercase hex(keccak256(body))`` — the hash rendered as a 0x-prefixed string,
exactly as go-ethereum's ``crypto.Keccak256Hash(body).Hex()`` prints it — and is itself written
as 0x-prefixed hex (65 bytes, r||s||v). ``HexBytes.hex()`` dropped the ``0x`` in hexbytes 1.0;
signing that shorter text yields a valid-looking signature the relay rejects, so the prefix is
added here explicitly and never taken from a library's ``hex()``.

The signing key is a *reputation* key: it identifies the searcher to the relay and pays for
nothing. Keep it separate from any key that signs transactions.
"""

from __future__ import annotations

from typing import Any, Protocol

from eth_account import Account
from eth_account.messages import SignableMessage, encode_defunct
from eth_keys.exceptions import BadSignature
from eth_utils import ValidationError, keccak, to_checksum_address

from keeper.relay.exceptions import SignatureError


class MessageSigner(Protocol):
    """Anything with an address that signs EIP-191 messages.

    An ``eth_account`` ``LocalAccount`` qualifies, and so does an Ape account (its
    ``sign_message`` returns a ``MessageSignature`` with ``encode_rsv()``).
    """

    @property
    def address(self) -> Any: ...

    def sign_message(self, signable_message: SignableMessage) -> Any: ...


def body_digest_text(body: bytes) -> str:
    """The text that is signed: ``0x`` + 64 lowercase hex digits of keccak256(body)."""
    return "0x" + keccak(body).hex().removeprefix("0x").lower()


def signable_body(body: bytes) -> SignableMessage:
    """The EIP-191 (version ``E``) message for ``body``."""
    return encode_defunct(text=body_digest_text(body))


def _signature_bytes(signed: Any) -> bytes:
    # eth_account: SignedMessage.signature (bytes); Ape: MessageSignature.encode_rsv().
    if hasattr(signed, "encode_rsv"):
        return bytes(signed.encode_rsv())
    if hasattr(signed, "signature"):
        return bytes(signed.signature)
    raise SignatureError(f"signer returned {type(signed).__name__}, not a signature")


def sign_body(body: bytes, signer: MessageSigner) -> str:
    """The header value for ``body``: ``<checksum address>:0x<130 hex digits>``."""
    signature = _signature_bytes(signer.sign_message(signable_body(body)))
    if len(signature) != 65:
        raise SignatureError(f"signature is {len(signature)} bytes, expected 65")
    address = to_checksum_address(str(signer.address))
    return f"{address}:0x{signature.hex().removeprefix('0x')}"


def recover_signer(body: bytes, header: str | None) -> str:
    """Check ``header`` against ``body`` as the relay does; return the checksum signer address.

    Raises:
        SignatureError: missing header, not ``address:signature``, undecodable signature, or a
            recovered address that differs from the claimed one.
    """
    if not header:
        raise SignatureError("signature is required")
    parts = header.split(":")
    if len(parts) != 2:
        raise SignatureError("header must be '<address>:<signature>'")
    claimed, signature_hex = parts[0].strip(), parts[1].strip()
    if not signature_hex.startswith("0x"):
        raise SignatureError("signature must be 0x-prefixed hex")
    try:
        signature = bytes.fromhex(signature_hex[2:])
    except ValueError as err:
        raise SignatureError("signature is not hex") from err
    if len(signature) != 65:
        raise SignatureError(f"signature is {len(signature)} bytes, expected 65")
    if signature[-1] < 27:  # go-ethereum style v in {0, 1}
        signature = signature[:-1] + bytes([signature[-1] + 27])
    try:
        recovered = Account.recover_message(signable_body(body), signature=signature)
    except (BadSignature, ValidationError, ValueError) as err:
        raise SignatureError(f"cannot recover a signer: {err}") from err
    if recovered.lower() != claimed.lower():
        raise SignatureError(f"error in signature check {claimed}")
    return to_checksum_address(recovered)
