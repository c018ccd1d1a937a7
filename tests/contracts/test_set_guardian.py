"""setGuardian / guardian: the owner replaces the guardian."""

from __future__ import annotations

import ape
import pytest
from eth_abi import encode
from eth_utils import keccak
from web3.exceptions import ContractCustomError

from keeper.intents.types import ZERO_ADDRESS


def test_owner_replaces_the_guardian_and_the_old_one_loses_the_pause(
    executor, owner, guardian, bob
):
    receipt = executor.setGuardian(bob, sender=owner)

    assert executor.guardian() == bob.address
    [event] = receipt.decode_logs(executor.GuardianSet)
    assert (event.previous, event.guardian) == (guardian.address, bob.address)
    with ape.reverts(executor.NotGuardian, caller=guardian.address):
        executor.pause(sender=guardian)
    executor.pause(sender=bob)


def test_only_the_owner_replaces_the_guardian(executor, attacker):
    with ape.reverts(executor.OwnableUnauthorizedAccount, account=attacker.address):
        executor.setGuardian(attacker, sender=attacker)


def test_the_guardian_cannot_be_the_zero_address(project, chain, executor, owner):
    with ape.reverts(executor.ZeroAddress):
        executor.setGuardian(ZERO_ADDRESS, sender=owner)
    # A reverted deployment has no contract to decode with: compare the raw revert data.
    code = project.BatchExecutor.contract_type.deployment_bytecode.bytecode
    args = [owner.address, ZERO_ADDRESS, 0, [], []]
    data = (
        code
        + encode(["address", "address", "uint256", "address[]", "(address,bytes4)[]"], args).hex()
    )
    with pytest.raises(ContractCustomError) as info:
        chain.provider.web3.eth.call({"from": owner.address, "data": data})
    assert info.value.data == "0x" + keccak(text="ZeroAddress()")[:4].hex()
