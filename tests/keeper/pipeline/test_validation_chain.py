"""Intake's on-chain layer against a real executor: nonce, balance, approvals, vault allowance."""

from __future__ import annotations

import pytest
from ape import chain as ape_chain

from keeper.intents.chainstate import Web3ChainState
from keeper.intents.intake import IntakeService
from keeper.intents.store import IntentStore
from keeper.intents.validation import IntentPolicy, IntentRejectedError
from tests.keeper.pipeline.conftest import E6, E18


@pytest.fixture
def service(tmp_path, users, executor, weth, usdc):
    store = IntentStore(f"sqlite:///{tmp_path / 'i.db'}", keeper_id="k")
    policy = IntentPolicy(
        chain_id=users.chain_id,
        executor=executor.address,
        supported_tokens=[weth.address, usdc.address],
    )
    chain = Web3ChainState(ape_chain.provider.web3, executor.address)
    yield IntakeService(
        store,
        policy,
        chain,
        chain_time=users.now,
        block_number=lambda: int(ape_chain.blocks.head.number),
    )
    store.close()


def submit(service, users, user, intent):
    return service.submit(users.signed(intent, user).to_wire())


def rejection(service, users, user, intent) -> IntentRejectedError:
    with pytest.raises(IntentRejectedError) as err:
        submit(service, users, user, intent)
    return err.value


def test_a_funded_and_approved_intent_is_accepted_at_the_current_block(
    service, users, alice, weth, usdc
):
    users.fund(alice, weth, 2 * E18)
    record, created = submit(
        service, users, alice, users.intent(alice, [(weth, E18)], [(usdc, 2_000 * E6)])
    )
    assert created and record.block_number == ape_chain.blocks.head.number


def test_an_intent_above_the_owners_balance_is_rejected_naming_the_leg(
    service, users, alice, weth, usdc
):
    users.fund(alice, weth, 3 * E18 // 2)
    err = rejection(service, users, alice, users.intent(alice, [(weth, 2 * E18)], [(usdc, 1)]))
    assert (err.field, err.code) == ("intent.sells.0.amount", "insufficient_balance")
    # in whole tokens with the symbol, as the owner signed and reads them
    assert err.problem == "2.0 WETH exceeds the owner's balance of 1.5 WETH"


def test_missing_erc20_approval_or_small_vault_allowance_is_rejected(
    service, users, vault, bob, weth, usdc
):
    weth.mint(bob, E18, sender=bob)
    err = rejection(service, users, bob, users.intent(bob, [(weth, E18)], [(usdc, 1)]))
    assert err.code == "insufficient_allowance"
    assert err.problem == (
        "1.0 WETH exceeds the owner's ERC-20 approval of the vault (0.0 WETH); "
        f"fix: keeper vault approve {weth.address} 1.0 --account YOUR_ACCOUNT"
    )
    users.fund(bob, weth, 0, allowance=E18 // 4)
    err = rejection(service, users, bob, users.intent(bob, [(weth, E18)], [(usdc, 1)]))
    assert err.code == "insufficient_allowance"
    assert err.problem.startswith("1.0 WETH exceeds the owner's vault allowance (0.25 WETH); ")
    assert err.problem.endswith(
        f"fix: keeper vault approve {weth.address} 1.0 --account YOUR_ACCOUNT"
    )


def test_token_metadata_for_messages_is_read_once_and_absent_metadata_is_none(
    service, executor, weth
):
    """``symbol`` and ``decimals`` are optional in ERC-20: a contract without them (here the
    executor itself) gives None, and messages fall back to base units and the address."""
    chain = service.chain
    assert chain.token_info(weth.address) == ("WETH", 18)
    assert chain.token_info(executor.address) is None
    assert chain.token_info(executor.address.lower()) is None  # remembered, any spelling


def test_a_nonce_cancelled_on_chain_is_rejected(service, users, executor, carol, weth, usdc):
    users.fund(carol, weth, E18)
    executor.invalidateNonces(0, 1 << 3, sender=carol)
    err = rejection(service, users, carol, users.intent(carol, [(weth, E18)], [(usdc, 1)], nonce=3))
    assert (err.field, err.code) == ("intent.nonce", "nonce_used")
