"""The toolchain end to end: OpenZeppelin import -> offline solc -> Ape -> anvil."""

import ape


def test_contract_importing_openzeppelin_deploys_on_anvil(project, accounts, chain):
    owner = accounts[0]

    greeter = owner.deploy(project.Greeter, "gm")

    assert greeter.greeting() == "gm"
    assert greeter.owner() == owner
    assert chain.provider.web3.client_version.startswith("anvil/")


def test_openzeppelin_custom_error_is_decoded_by_ape(project, accounts):
    owner, stranger = accounts[0], accounts[1]
    greeter = owner.deploy(project.Greeter, "gm")

    with ape.reverts(greeter.OwnableUnauthorizedAccount, account=stranger.address):
        greeter.setGreeting("gn", sender=stranger)

    greeter.setGreeting("gn", sender=owner)
    assert greeter.greeting() == "gn"
