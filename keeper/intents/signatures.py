"""The executor's signature rule, applied off-chain (intake) exactly as ``settle`` applies it.

``OrderCheck.isValidSignature`` (contracts/libraries/OrderCheck.sol) accepts a signature over an
intent's digest when

1. it is an ECDSA signature by the owner as OpenZeppelin's ``ECDSA.tryRecover`` reads it:
   65 bytes ``r || s || v``, ``v`` in {27, 28}, ``s`` in the lower half of the curve order, and
   a recovered address that is not zero; or
2. the owner has code (a smart wallet, or an EIP-7702 account) and its ERC-1271
   ``isValidSignature(digest, signature)`` returns the magic value (a successful call whose
   first 32 bytes of return data are ``0x1626ba7e`` followed by zeros).

:func:`settleable_signature` applies the same rule and returns the signature in the form
``settle`` accepts. Some hardware and MPC signers produce ``v`` in {0, 1}: the same ``(r, s)``
with ``v + 27`` is the same signature of the same digest by the same key, so when the bytes as
sent fail the rule, that form is tried (ECDSA, and the wallet's own ERC-1271 check for an owner
with code) and returned if it passes: what is stored and sent is what ``settle`` verifies.
Bytes that pass as they are are never rewritten (a wallet may give ``v`` its own meaning).
tests/keeper/pipeline/test_signature_rule.py checks this module against ``checkOrder`` on a
real executor.
"""

from __future__ import annotations

from typing import Protocol

from keeper.exceptions import KeeperError

#: secp256k1 group order; signatures with s > n/2 are rejected on-chain (malleability)
SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
#: ``IERC1271.isValidSignature.selector``, as the 32-byte word ``SignatureChecker`` compares
ERC1271_MAGIC_WORD = bytes.fromhex("1626ba7e") + bytes(28)


class SignatureRefusedError(KeeperError):
    """The signature is not one ``settle`` accepts for this owner; ``problem`` says why."""

    def __init__(self, problem: str) -> None:
        self.problem = problem
        super().__init__(problem)


class Wallets(Protocol):
    """The two on-chain reads the rule needs (implemented in keeper.intents.chainstate)."""

    def has_code(self, address: str) -> bool: ...

    def erc1271_answer(self, owner: str, digest: bytes, signature: bytes) -> bytes | None:
        """The return data of ``owner.isValidSignature(digest, signature)``; None if it
        reverted."""
        ...


def ecdsa_signer(digest: bytes, signature: bytes) -> str:
    """The address OpenZeppelin's ``ECDSA.tryRecover`` recovers, or SignatureRefusedError naming
    the rule it breaks (length, ``v``, high ``s``, no signer)."""
    from eth_keys import keys
    from eth_keys.exceptions import BadSignature
    from eth_utils import to_checksum_address

    if len(signature) != 65:
        raise SignatureRefusedError(f"{len(signature)} bytes; an ECDSA signature has 65")
    r = int.from_bytes(signature[:32], "big")
    s = int.from_bytes(signature[32:64], "big")
    v = signature[64]
    if s > SECP256K1_N // 2:
        raise SignatureRefusedError("high-s signature (malleable); the executor rejects it")
    if v not in (27, 28):
        raise SignatureRefusedError(f"v is {v}; the executor accepts 27 or 28")
    if not (0 < r < SECP256K1_N and s > 0):
        raise SignatureRefusedError("r or s is out of range: no signer can be recovered")
    try:
        public = keys.Signature(vrs=(v - 27, r, s)).recover_public_key_from_msg_hash(digest)
    except (BadSignature, ValueError):
        raise SignatureRefusedError("no signer can be recovered from it") from None
    return str(to_checksum_address(public.to_canonical_address()))


def normalised_v(signature: bytes) -> bytes | None:
    """``signature`` with ``v`` in {0, 1} rewritten to {27, 28}; None if ``v`` is not 0 or 1."""
    if len(signature) == 65 and signature[64] in (0, 1):
        return signature[:64] + bytes([signature[64] + 27])
    return None


def settleable_signature(
    owner: str, digest: bytes, signature: bytes, wallets: Wallets | None
) -> bytes:
    """``signature`` as ``settle`` will accept it for ``owner`` over ``digest``.

    Args:
        wallets: on-chain reads for owners with code; None checks ECDSA only (an owner with
            code is then refused, saying why).

    Raises:
        SignatureRefusedError: no form of ``signature`` passes the executor's rule.
    """
    owner_key = owner.lower()
    coded = wallets is not None and wallets.has_code(owner)
    problem = ""
    # The bytes as sent first (a wallet may give v its own meaning), then with v raised
    forms = [signature] + [f for f in (normalised_v(signature),) if f is not None]
    for form in forms:
        try:
            signer = ecdsa_signer(digest, form)
        except SignatureRefusedError as err:
            problem = problem or err.problem
        else:
            if signer.lower() == owner_key:
                return form
            problem = f"signed by {signer}, not by the owner {owner} (wrong key, chain or executor)"
        if coded:  # settle asks ERC-1271 when ECDSA does not give the owner
            assert wallets is not None
            answer = wallets.erc1271_answer(owner, digest, form)
            if answer is not None and answer[:32] == ERC1271_MAGIC_WORD:
                return form
    if coded:
        problem += "; the owner's ERC-1271 isValidSignature does not accept it either"
    elif wallets is None:
        problem += " (a smart-wallet owner's ERC-1271 check needs the chain)"
    raise SignatureRefusedError(problem)
