"""Intake applies the executor's own signature rule: a smart-wallet (ERC-1271) owner's intent is
accepted and what intake stores settles; v in {0, 1} is stored as 27/28; and for every kind of
signature, intake's verdict is the one ``checkOrder`` gives on a real executor."""

from __future__ import annotations

import pytest
from ape import chain as ape_chain

from keeper.intents.chainstate import Web3ChainState
from keeper.intents.intake import IntakeService
from keeper.intents.signatures import SECP256K1_N, SignatureRefusedError, settleable_signature
from keeper.intents.signing import intent_digest, sign_intent
from keeper.intents.store import IntentStore
from keeper.intents.types import Execution, Order
from keeper.intents.validation import IntentPolicy, IntentRejectedError, SignedIntent
from keeper.settlement.abi import encode_orders
from keeper.settlement.plan import Candidate
from keeper.simulation import Simulator
from tests.keeper.pipeline.conftest import E6, E18, FAR_FUTURE, MAX_UINT160, MAX_UINT256


@pytest.fixture
def chain_state(executor):
    return Web3ChainState(ape_chain.provider.web3, executor.address)


@pytest.fixture
def service(tmp_path, users, executor, keeper, weth, usdc, chain_state):
    store = IntentStore(f"sqlite:///{tmp_path / 'i.db'}", keeper_id="k")
    policy = IntentPolicy(
        chain_id=users.chain_id,
        executor=executor.address,
        keeper=keeper.address,
        supported_tokens=[weth.address, usdc.address],
    )
    yield IntakeService(store, policy, chain_state, chain_time=users.now)
    store.close()


@pytest.fixture
def simulator(executor, keeper, decoder):
    return Simulator(ape_chain.provider.web3, executor.address, keeper.address, decoder)


@pytest.fixture
def wallet(project, owner, alice, vault, weth):
    """An ERC-1271 wallet owned by Alice (her key's signature of a digest is its signature),
    holding 2 WETH approved to the vault with a vault allowance."""
    wallet = owner.deploy(project.TestSmartWallet, alice)
    weth.mint(wallet, 2 * E18, sender=owner)
    wallet.execute(weth, weth.approve.encode_input(vault, MAX_UINT256), sender=alice)
    wallet.execute(vault, vault.approve.encode_input(weth, MAX_UINT160, FAR_FUTURE), sender=alice)
    return wallet


def wallet_intent(users, wallet, weth, usdc, nonce: int = 3):
    return users.intent(wallet, [(weth, E18)], [(usdc, 2_990 * E6)], nonce=nonce)


def signed_by(account, intent, users) -> bytes:
    """``account``'s key signs the intent's digest (what the test wallet checks)."""
    digest = intent_digest(intent, users.chain_id)
    return bytes(account.sign_raw_msghash(digest).encode_rsv())


def full_order(intent, signature: bytes) -> Order:
    return Order(
        intent=intent,
        signature=signature,
        execution=Execution(
            sell_amounts=[leg.amount for leg in intent.sells],
            buy_amounts=[leg.amount for leg in intent.buys],
        ),
    )


def test_a_smart_wallet_owners_intent_is_accepted_and_what_intake_stores_settles(
    service, users, executor, keeper, simulator, wallet, alice, bob, weth, usdc
):
    intent = wallet_intent(users, wallet, weth, usdc)
    body = SignedIntent(intent=intent, signature=signed_by(alice, intent, users)).to_wire()
    record, created = service.submit(body)
    assert created

    # Bob takes the other side: 3,000 USDC for the wallet's WETH (a coincidence of wants).
    users.fund(bob, usdc, 3_000 * E6)
    theirs = users.intent(bob, [(usdc, 3_000 * E6)], [(weth, E18)], nonce=3)
    stored = Candidate.from_stored(record.id, service.store.get(record.id).payload, 0).signed
    ours = Order(
        intent=stored.intent,
        signature=stored.signature,
        execution=Execution(sell_amounts=[E18], buy_amounts=[3_000 * E6]),
    )
    orders = (ours, users.order(theirs, bob))
    assert simulator.check_orders(orders) == [None, None]
    executor.settle(encode_orders(orders), [], sender=keeper)
    assert usdc.balanceOf(wallet) == 3_000 * E6 and weth.balanceOf(wallet) == E18
    assert executor.isNonceUsed(wallet, 3)


def test_a_smart_wallet_that_refuses_the_signature_is_rejected_naming_it(
    service, users, wallet, alice, weth, usdc
):
    wallet.setAccepting(False, sender=alice)
    intent = wallet_intent(users, wallet, weth, usdc)
    body = SignedIntent(intent=intent, signature=signed_by(alice, intent, users)).to_wire()
    with pytest.raises(IntentRejectedError) as err:
        service.submit(body)
    assert (err.value.field, err.value.code) == ("signature", "bad_signature")
    assert "ERC-1271" in err.value.problem


def test_a_v_0_or_1_signature_is_stored_as_one_settle_accepts(
    service, users, simulator, alice, weth, usdc
):
    users.fund(alice, weth, E18)
    intent = users.intent(alice, [(weth, E18)], [(usdc, 1)], nonce=4)
    good = sign_intent(intent, alice, users.chain_id)
    low_v = good[:64] + bytes([good[64] - 27])
    assert simulator.check_orders([full_order(intent, low_v)]) == ["InvalidSignature"]
    record, _ = service.submit(SignedIntent(intent=intent, signature=low_v).to_wire())
    stored = Candidate.from_stored(record.id, service.store.get(record.id).payload, 0).signed
    assert stored.signature == good
    assert simulator.check_orders([full_order(intent, stored.signature)]) == [None]


def _cases(users, wallet, alice, carol, weth, usdc, mallory):
    """(name, intent, signature) for every kind of signature the rule distinguishes."""
    own = users.intent(carol, [(weth, E18)], [(usdc, 1)], nonce=5)
    good = sign_intent(own, carol, users.chain_id)
    r, s, v = good[:32], int.from_bytes(good[32:64], "big"), good[64]
    held = wallet_intent(users, wallet, weth, usdc, nonce=5)
    by_alice = signed_by(alice, held, users)
    mallorys = users.intent(mallory, [(weth, E18)], [(usdc, 1)], nonce=5)
    return [
        ("eoa", own, good),
        ("eoa-v-minus-27", own, good[:64] + bytes([v - 27])),
        ("eoa-v-29", own, good[:64] + bytes([29])),
        ("eoa-high-s-twin", own, r + (SECP256K1_N - s).to_bytes(32, "big") + bytes([55 - v])),
        ("eoa-wrong-key", own, signed_by(alice, own, users)),
        ("eoa-64-bytes", own, good[:64]),
        ("eoa-empty", own, b""),
        ("wallet-owner-key", held, by_alice),
        ("wallet-owner-key-v-minus-27", held, by_alice[:64] + bytes([by_alice[64] - 27])),
        ("wallet-wrong-key", held, signed_by(carol, held, users)),
        ("wallet-junk", held, b"\x01" * 97),
        # an account with code that also holds its key (EIP-7702): settle tries ECDSA first,
        # then the code's ERC-1271 (here the test wallet's, which answers for Alice's key)
        ("coded-account-own-key", mallorys, signed_by(mallory, mallorys, users)),
        ("coded-account-erc1271", mallorys, signed_by(alice, mallorys, users)),
        ("coded-account-wrong-key", mallorys, signed_by(carol, mallorys, users)),
    ]


def test_intakes_verdict_on_every_kind_of_signature_is_the_executors(
    users, accounts, wallet, alice, carol, weth, usdc, simulator, chain_state
):
    """For each case: intake's rule accepts exactly when ``checkOrder`` gets past the signature
    with the bytes intake would store, and refuses exactly when checkOrder says
    InvalidSignature for the bytes as sent and for their v-normalised form."""
    mallory = accounts[6]
    web3 = ape_chain.provider.web3
    code = "0x" + bytes(web3.eth.get_code(wallet.address)).hex()
    web3.provider.make_request("anvil_setCode", [mallory.address, code])
    accepting = "0x" + (1).to_bytes(32, "big").hex()  # the wallet's `accepting` flag (slot 0)
    web3.provider.make_request("anvil_setStorageAt", [mallory.address, "0x0", accepting])
    verdicts = {}
    for name, intent, signature in _cases(users, wallet, alice, carol, weth, usdc, mallory):
        digest = intent_digest(intent, users.chain_id)
        try:
            stored = settleable_signature(intent.owner, digest, signature, chain_state)
        except SignatureRefusedError:
            stored = None
        forms = [signature] if stored is None else [stored]
        if stored is None and len(signature) == 65 and signature[64] in (0, 1):
            forms.append(signature[:64] + bytes([signature[64] + 27]))
        statuses = simulator.check_orders([full_order(intent, f) for f in forms])
        verdicts[name] = (stored is not None, statuses)
    expected = {
        "eoa": True,
        "eoa-v-minus-27": True,
        "eoa-v-29": False,
        "eoa-high-s-twin": False,
        "eoa-wrong-key": False,
        "eoa-64-bytes": False,
        "eoa-empty": False,
        "wallet-owner-key": True,
        "wallet-owner-key-v-minus-27": True,  # the wallet accepts the v-normalised form
        "wallet-wrong-key": False,
        "wallet-junk": False,
        "coded-account-own-key": True,
        "coded-account-erc1271": True,
        "coded-account-wrong-key": False,
    }
    assert {name: accepted for name, (accepted, _) in verdicts.items()} == expected, verdicts
    for name, (accepted, statuses) in verdicts.items():
        if accepted:
            assert "InvalidSignature" not in statuses, (name, statuses)
        else:
            assert set(statuses) == {"InvalidSignature"}, (name, statuses)
