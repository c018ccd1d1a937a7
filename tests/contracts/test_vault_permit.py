"""AllowanceVault.permit / hashPermit: a gasless, signed allowance."""

from __future__ import annotations

import ape
import pytest

from keeper.intents.signing import permit_digest, sign_permit
from keeper.intents.types import AllowancePermit
from keeper.settlement.abi import encode_order
from tests.contracts.helpers import selector

E18 = 10**18


@pytest.fixture
def permit(intents, alice, weth_like):
    return AllowancePermit(
        owner=alice.address,
        token=weth_like.address,
        amount=3 * E18,
        expiration=2**40,
        nonce=0,
        deadline=intents.now() + 600,
    )


def test_python_permit_digest_equals_the_vaults(vault, permit, chain_id):
    assert bytes(vault.hashPermit(permit.as_abi())) == permit_digest(
        permit, chain_id, vault.address
    )


def test_anyone_can_submit_a_users_signed_permit(vault, keeper, alice, weth_like, permit, chain_id):
    signature = sign_permit(permit, alice, chain_id, vault.address)

    receipt = vault.permit(permit.as_abi(), signature, sender=keeper)

    assert tuple(vault.allowance(alice, weth_like)) == (3 * E18, 2**40, 1)
    [event] = receipt.decode_logs(vault.AllowanceSet)
    assert (event.owner, event.amount, event.nonce) == (alice.address, 3 * E18, 1)


def test_a_permit_cannot_be_replayed(vault, keeper, alice, weth_like, permit, chain_id):
    signature = sign_permit(permit, alice, chain_id, vault.address)
    vault.permit(permit.as_abi(), signature, sender=keeper)

    with ape.reverts(
        vault.InvalidPermitNonce, owner=alice.address, token=weth_like.address, expected=1, given=0
    ):
        vault.permit(permit.as_abi(), signature, sender=keeper)


def test_rejects_a_permit_after_its_deadline(vault, keeper, alice, permit, chain_id, intents):
    late = permit.model_copy(update={"deadline": intents.now() - 1})
    signature = sign_permit(late, alice, chain_id, vault.address)

    with ape.reverts(vault.PermitExpired, deadline=late.deadline):
        vault.permit(late.as_abi(), signature, sender=keeper)


def test_rejects_a_permit_signed_by_someone_else(vault, keeper, alice, bob, permit, chain_id):
    forged = sign_permit(
        permit.model_copy(update={"owner": bob.address}), bob, chain_id, vault.address
    )

    with ape.reverts(vault.InvalidPermitSignature, owner=alice.address):
        vault.permit(permit.as_abi(), forged, sender=keeper)


def test_rejects_a_permit_whose_amount_was_raised(vault, keeper, alice, permit, chain_id):
    signature = sign_permit(permit, alice, chain_id, vault.address)
    raised = permit.model_copy(update={"amount": permit.amount + 1})

    with ape.reverts(vault.InvalidPermitSignature, owner=alice.address):
        vault.permit(raised.as_abi(), signature, sender=keeper)


@pytest.fixture
def delegated_alice(project, chain, owner, alice):
    """Alice's EOA with code, as after an EIP-7702 delegation to a contract that does not
    implement ERC-1271 (here the Greeter's code): her key still signs for her."""
    greeter = owner.deploy(project.Greeter, "hi")
    chain.provider.set_code(alice.address, chain.provider.get_code(greeter.address))
    return alice


def test_an_eoa_with_code_signs_a_permit_as_it_signs_an_intent(
    intents, executor, vault, keeper, alice, weth_like, permit, chain_id, delegated_alice
):
    # One signature rule for intents and permits: ECDSA first, then ERC-1271.
    signature = sign_permit(permit, alice, chain_id, vault.address)

    vault.permit(permit.as_abi(), signature, sender=keeper)

    assert vault.allowance(alice, weth_like).amount == 3 * E18
    # ... as settle verifies her intents (its check stops at the vault approval she lacks).
    intent = intents.intent(alice, sells=[(weth_like, E18)], buys=[])
    order = encode_order(intents.order(intent, alice))
    assert bytes(executor.checkOrder(order, keeper)) != selector("InvalidSignature(address)")
