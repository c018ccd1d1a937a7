"""The client's X-Flashbots-Signature verifies under an independent re-implementation of the
relay's check (go-ethereum's: keccak -> "0x"-hex text -> EIP-191 -> ecrecover -> compare)."""

from __future__ import annotations

import json

import pytest
from eth_account.messages import encode_defunct
from eth_keys import keys
from eth_utils import keccak

from keeper.relay.exceptions import SignatureError
from keeper.relay.signing import body_digest_text, recover_signer, sign_body
from keeper.relay.transport import encode_request


def relay_check(body: bytes, header: str) -> bool:
    """Written from the protocol text, sharing no code with keeper.relay.signing:
    address:0xsig; text = "0x"+hex(keccak(body)); hash = keccak("\\x19Ethereum Signed
    Message:\\n" + len(text) + text); recover; compare case-insensitively."""
    address, signature_hex = header.split(":")
    assert signature_hex.startswith("0x"), "signature must be 0x-prefixed"
    signature = bytearray(bytes.fromhex(signature_hex[2:]))
    if signature[64] >= 27:
        signature[64] -= 27
    text = ("0x" + keccak(body).hex()).encode()
    digest = keccak(b"\x19Ethereum Signed Message:\n" + str(len(text)).encode() + text)
    public_key = keys.Signature(bytes(signature)).recover_public_key_from_msg_hash(digest)
    return public_key.to_checksum_address().lower() == address.lower()


BODIES = {
    "ascii": encode_request("eth_sendBundle", [{"txs": ["0x01"], "blockNumber": "0x10"}], 1),
    "unicode": encode_request("eth_sendBundle", [{"note": "리밸런싱 🚀 naïve ∑"}], 2),
    "large": encode_request("eth_sendBundle", [{"txs": ["0x" + "ab" * 150_000]}], 3),
    "empty": b"",
}


@pytest.mark.parametrize("name", sorted(BODIES))
def test_client_signature_verifies_under_an_independent_relay_check(name, reputation_key):
    body = BODIES[name]
    header = sign_body(body, reputation_key)

    assert relay_check(body, header)
    assert header.split(":")[0] == reputation_key.address
    assert recover_signer(body, header) == reputation_key.address


def test_unicode_body_is_signed_as_its_utf8_bytes(reputation_key):
    body = BODIES["unicode"]
    assert "리밸런싱".encode() in body  # not \\u escapes: the signed bytes are what is sent
    assert json.loads(body)["params"][0]["note"] == "리밸런싱 🚀 naïve ∑"


def test_the_large_body_is_near_the_bundle_size_limit():
    assert len(BODIES["large"]) > 300_000


def test_signed_text_is_the_0x_prefixed_lowercase_hash():
    text = body_digest_text(b"{}")
    assert text.startswith("0x") and len(text) == 66 and text == text.lower()


def test_signature_of_the_hash_without_0x_is_refused(reputation_key):
    # The hexbytes>=1.0 trap: HexBytes.hex() has no 0x, and signing that text fails the check.
    body = BODIES["ascii"]
    wrong = reputation_key.sign_message(encode_defunct(text=keccak(body).hex()))
    header = f"{reputation_key.address}:0x{bytes(wrong.signature).hex()}"

    assert not relay_check(body, header)
    with pytest.raises(SignatureError, match="error in signature check"):
        recover_signer(body, header)


def test_a_tampered_body_is_refused(reputation_key):
    header = sign_body(BODIES["ascii"], reputation_key)
    tampered = BODIES["ascii"].replace(b"0x10", b"0x11")
    assert not relay_check(tampered, header)
    with pytest.raises(SignatureError, match="error in signature check"):
        recover_signer(tampered, header)


def test_a_claimed_address_that_did_not_sign_is_refused(reputation_key, sender):
    body = BODIES["ascii"]
    signature = sign_body(body, reputation_key).split(":")[1]
    with pytest.raises(SignatureError, match=sender.address):
        recover_signer(body, f"{sender.address}:{signature}")


@pytest.mark.parametrize(
    ("header", "problem"),
    [
        (None, "signature is required"),
        ("", "signature is required"),
        ("0xabc", "address>:<signature"),
        ("0x" + "11" * 20 + ":deadbeef", "0x-prefixed"),
        ("0x" + "11" * 20 + ":0xzz", "not hex"),
        ("0x" + "11" * 20 + ":0x" + "11" * 64, "64 bytes"),
    ],
)
def test_malformed_headers_are_refused_with_a_reason(header, problem):
    with pytest.raises(SignatureError, match=problem):
        recover_signer(b"{}", header)


def test_go_ethereum_style_v_of_0_or_1_is_accepted(reputation_key):
    body = BODIES["ascii"]
    address, signature_hex = sign_body(body, reputation_key).split(":")
    raw = bytearray(bytes.fromhex(signature_hex[2:]))
    raw[64] -= 27
    assert recover_signer(body, f"{address}:0x{raw.hex()}") == reputation_key.address
