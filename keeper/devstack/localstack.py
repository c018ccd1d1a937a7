"""The whole product on one machine: seeded market, executor, local relay, funded users.

``local_stack(workdir)`` is a context manager used by ``make demo``, the end-to-end tests and
the benchmarks. It starts an anvil serving the saved seeded market (chain id 1, ``--order
fifo`` as the relay's builder needs), deploys the executor with plain web3 (allow-listing the
keeper and the interaction calls the keeper routes through), writes the deployments file
the keeper reads, and then hands block production to a :class:`LocalRelay` (in this process,
or as a child process: :class:`keeper.devstack.localprocess.RelayProcess`). Everything is stopped on
exit, also on Ctrl-C or failure.

Accounts are anvil's (and Ape's) well-known dev keys: index 0 deploys, 1 is the keeper
(``TEST::1`` for the keeper's ``signer``), 2 and up are users. Never use them on a real chain.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from keeper.chain.anvil import AnvilProcess
from keeper.devstack.localprocess import KEEPER_SIGNER, KeeperProcess, RelayProcess

__all__ = [  # the processes live in keeper.devstack.localprocess; tests and the demo import here
    "KEEPER_SIGNER",
    "KeeperProcess",
    "LocalStack",
    "RelayProcess",
    "approve_vault",
    "deploy_executor",
    "local_stack",
    "measure_router02_swap_gas",
    "quote",
    "router02_output",
    "signed_intent",
]

MAX_UINT160 = 2**160 - 1
MAX_UINT256 = 2**256 - 1
FAR_FUTURE = 2**40

_ERC20_APPROVE = [
    {
        "name": "approve",
        "type": "function",
        "stateMutability": "nonpayable",
        "inputs": [{"name": "spender", "type": "address"}, {"name": "amount", "type": "uint256"}],
        "outputs": [{"name": "", "type": "bool"}],
    }
]


@dataclass
class LocalStack:
    anvil: AnvilProcess
    relay: Any  # keeper.relay.server.LocalRelay, or a RelayProcess
    w3: Any
    market: Any  # keeper.market.deployments.Market
    executor: str
    vault: str
    deployments_file: Path
    deployer: Any  # eth_account LocalAccount
    keeper: Any
    users: list[Any]
    #: gas of one Router02 ``swapExactTokensForTokens`` as its own transaction (measured here)
    router02_swap_gas: int = 0

    @property
    def chain_id(self) -> int:
        return int(self.w3.eth.chain_id)


def _send(w3: Any, account: Any, tx: dict[str, Any]) -> Any:
    tx = {
        "from": account.address,
        "nonce": w3.eth.get_transaction_count(account.address),
        "chainId": w3.eth.chain_id,
        "maxFeePerGas": 100 * 10**9,
        "maxPriorityFeePerGas": 10**9,
        **tx,
    }
    tx.setdefault("gas", int(w3.eth.estimate_gas(tx) * 1.3))
    signed = account.sign_transaction(tx)
    receipt = w3.eth.wait_for_transaction_receipt(
        w3.eth.send_raw_transaction(signed.raw_transaction)
    )
    if receipt["status"] != 1:
        raise RuntimeError(f"set-up transaction {receipt['transactionHash'].hex()} reverted")
    return receipt


def _artifact(name: str) -> tuple[list[Any], str]:
    from keeper.chain.project import repo_project

    contract_type = getattr(repo_project(), name).contract_type
    abi = [item.model_dump(mode="json", by_alias=True) for item in contract_type.abi]
    return abi, str(contract_type.deployment_bytecode.bytecode)


def deploy_executor(
    w3: Any, deployer: Any, keepers: list[str], calls: list[Any]
) -> tuple[Any, Any]:
    """Deploy ``BatchExecutor(deployer, deployer, DEFAULT_ADMIN_DELAY, keepers, calls)`` with
    plain web3 (``calls``: keeper.market.executor.AllowedCall); returns (contract, receipt)."""
    from keeper.market.executor import DEFAULT_ADMIN_DELAY

    abi, bytecode = _artifact("BatchExecutor")
    factory = w3.eth.contract(abi=abi, bytecode=bytecode)
    args = (deployer.address, deployer.address, DEFAULT_ADMIN_DELAY, keepers)
    constructor = factory.constructor(*args, [allowed.as_abi() for allowed in calls])
    receipt = _send(w3, deployer, constructor.build_transaction({"from": deployer.address}))
    executor = w3.eth.contract(address=receipt["contractAddress"], abi=abi)
    return executor, receipt


def measure_router02_swap_gas(w3: Any, account: Any, market: Any) -> int:
    """Gas of a plain WETH -> USDC Router02 swap transaction (approval already given), measured
    on the chain and then undone (anvil snapshot/revert): the one-transaction-per-leg baseline."""
    from keeper.market.funding import fund_portfolio

    snapshot = w3.provider.make_request("evm_snapshot", [])["result"]
    try:
        weth, usdc = market.token("WETH").address, market.token("USDC").address
        router_address = market.contracts["UniswapV2Router02"]
        # The recipient already holds USDC, as a rebalancing user does (no fresh storage slot).
        fund_portfolio(w3, market, account.address, {"WETH": 2, "USDC": 100})
        erc20 = w3.eth.contract(address=weth, abi=_ERC20_APPROVE)
        _send(
            w3,
            account,
            erc20.functions.approve(router_address, MAX_UINT256).build_transaction(
                {"from": account.address}
            ),
        )
        from keeper.chain.artifacts import artifact_json

        router = w3.eth.contract(
            address=router_address, abi=artifact_json("UniswapV2Router02")["abi"]
        )
        swap = router.functions.swapExactTokensForTokens(
            10**18, 0, [weth, usdc], account.address, FAR_FUTURE
        )
        receipt = _send(w3, account, swap.build_transaction({"from": account.address}))
        return int(receipt["gasUsed"])
    finally:
        w3.provider.make_request("evm_revert", [snapshot])


def approve_vault(w3: Any, user: Any, vault: str, tokens: list[str]) -> None:
    """The user's one-time set-up: ERC-20 approval of the vault, then vault allowances."""
    vault_abi, _ = _artifact("AllowanceVault")
    contract = w3.eth.contract(address=vault, abi=vault_abi)
    for token in tokens:
        erc20 = w3.eth.contract(address=token, abi=_ERC20_APPROVE)
        _send(
            w3,
            user,
            erc20.functions.approve(vault, MAX_UINT256).build_transaction({"from": user.address}),
        )
        _send(
            w3,
            user,
            contract.functions.approve(token, MAX_UINT160, FAR_FUTURE).build_transaction(
                {"from": user.address}
            ),
        )


@contextmanager
def local_stack(
    workdir: Path,
    portfolios: Mapping[str, Mapping[str, float]] | None = None,
    block_time: float | None = 1.0,
    relay_process: bool = False,
    anvil_port: int | None = None,
    relay_port: int = 0,
) -> Iterator[LocalStack]:
    """Start market + executor + relay; ``portfolios`` (name -> symbol -> whole tokens) funds
    one user per entry (dev accounts 2, 3, ...) and sets up their vault allowances.
    ``relay_process`` runs the relay as a child process (else in this process's threads);
    ``anvil_port``/``relay_port`` fix the ports (else free ones; in-process relay only)."""
    from web3 import HTTPProvider, Web3

    from keeper.market.deployments import (
        Deployments,
        ExecutorRecord,
        describe_market,
        save_deployments,
    )
    from keeper.market.funding import fund_portfolio
    from keeper.market.state import state_file
    from keeper.relay.sandbox import dev_accounts
    from keeper.relay.server import LocalRelay
    from keeper.routing.calldata import routing_calls

    accounts = dev_accounts(2 + len(portfolios or {}))
    deployer, keeper, users = accounts[0], accounts[1], accounts[2:]
    with ExitStack() as stack:
        anvil = stack.enter_context(
            AnvilProcess(
                chain_id=1,
                port=anvil_port,
                args=["--load-state", str(state_file()), "--order", "fifo"],
            )
        )
        w3 = Web3(HTTPProvider(anvil.url, request_kwargs={"timeout": 30}))
        market = describe_market(chain_id=1)
        executor, receipt = deploy_executor(w3, deployer, [keeper.address], routing_calls(market))
        vault = executor.functions.vault().call()
        path = workdir / "deployments" / "1.json"
        record = ExecutorRecord(
            address=executor.address,
            vault=vault,
            owner=deployer.address,
            guardian=deployer.address,
            deployer=deployer.address,
            block_number=int(receipt["blockNumber"]),
            transaction_hash="0x" + bytes(receipt["transactionHash"]).hex(),
        )
        save_deployments(Deployments(chain_id=1, market=market, executor=record), path)
        for user, portfolio in zip(users, (portfolios or {}).values(), strict=True):
            fund_portfolio(w3, market, user.address, portfolio, eth=10)
            approve_vault(w3, user, vault, [market.token(s).address for s in portfolio])
        router_gas = measure_router02_swap_gas(w3, deployer, market)
        relay = stack.enter_context(
            RelayProcess(anvil.url, block_time)
            if relay_process
            else LocalRelay(anvil.url, port=relay_port, block_time=block_time)
        )
        yield LocalStack(
            anvil=anvil,
            relay=relay,
            w3=w3,
            market=market,
            executor=executor.address,
            vault=vault,
            deployments_file=path,
            deployer=deployer,
            keeper=keeper,
            users=list(users),
            router02_swap_gas=router_gas,
        )


def quote(stack: LocalStack, sell: str, amount: int, buy: str) -> int:
    """What the pools pay now for ``amount`` of ``sell`` (routing engine, exact integers).
    Read through the relay, as the keeper reads: straight from anvil, a read pinned to the head
    can meet a trial block the relay is building (BlockOutOfRangeError)."""
    from keeper.routing import Market, route
    from keeper.routing.state import read_market_snapshot

    market = Market(read_market_snapshot(stack.relay.url, stack.market))
    token_in, token_out = stack.market.token(sell).address, stack.market.token(buy).address
    return int(route(market, token_in, token_out, amount).amount_out)


def signed_intent(
    stack: LocalStack,
    user: Any,
    sells: Mapping[str, float],
    buys: Mapping[str, int],
    *,
    nonce: int,
    valid_after: int = 0,
    ttl: int = 600,
    max_fee: tuple[str, int] | None = None,
) -> dict[str, Any]:
    """A submission body: ``sells`` in whole tokens (maxima), ``buys`` in base units (minima),
    ``max_fee`` = (token symbol, base units) the keeper may charge at most."""
    from keeper.intents.signing import sign_intent
    from keeper.intents.types import RebalanceIntent, TokenAmount
    from keeper.intents.validation import SignedIntent

    now = int(stack.w3.eth.get_block("latest")["timestamp"])
    intent = RebalanceIntent(
        owner=user.address,
        executor=stack.executor,
        nonce=nonce,
        valid_after=valid_after,
        deadline=max(now, valid_after) + ttl,
        sells=[
            TokenAmount(token=stack.market.token(s).address, amount=stack.market.token(s).units(a))
            for s, a in sells.items()
        ],
        buys=[TokenAmount(token=stack.market.token(s).address, amount=a) for s, a in buys.items()],
        **(
            {"fee_token": stack.market.token(max_fee[0]).address, "max_fee": max_fee[1]}
            if max_fee
            else {}
        ),
    )
    signature = sign_intent(intent, user, stack.chain_id)
    return SignedIntent(intent=intent, signature=signature, chain_id=stack.chain_id).to_wire()


def router02_output(stack: LocalStack, sell: str, amount: int, buy: str) -> int:
    """What one Router02 swap alone would pay now: the direct V2 pair, else through WETH (the
    one-transaction-per-leg baseline; exact V2 integer math on current reserves)."""
    from keeper.routing.v2math import amount_out

    def pair_out(token_in: str, token_out: str, units: int) -> int | None:
        t_in = stack.market.token(token_in).address
        for pool in stack.market.pools_between(token_in, token_out):
            if pool.dex != "uniswap-v2":
                continue
            pair = stack.w3.eth.contract(address=pool.address, abi=_V2_RESERVES)
            r0, r1, _ = pair.functions.getReserves().call()
            reserves = (r0, r1) if pool.token0 == t_in else (r1, r0)
            return amount_out(units, *reserves, pool.fee)
        return None

    direct = pair_out(sell, buy, amount)
    if direct is not None:
        return direct
    middle = pair_out(sell, "WETH", amount)
    return (pair_out("WETH", buy, middle) or 0) if middle else 0


_V2_RESERVES = [
    {
        "name": "getReserves",
        "type": "function",
        "stateMutability": "view",
        "inputs": [],
        "outputs": [
            {"name": "r0", "type": "uint112"},
            {"name": "r1", "type": "uint112"},
            {"name": "t", "type": "uint32"},
        ],
    }
]
