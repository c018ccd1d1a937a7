"""A one-pool Uniswap V2 market on a bare anvil, for the relay tests, demo and sandwich bench.

Everything is plain web3 + locally signed transactions (the relay tests run their own anvil,
outside Ape's session chain). Deploy while anvil still automines, i.e. before a
:class:`~keeper.relay.server.LocalRelay` takes over block production.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from eth_account import Account
from eth_account.signers.local import LocalAccount

from keeper.relay.exceptions import UpstreamError

if TYPE_CHECKING:
    from web3 import Web3
    from web3.contract import Contract

#: anvil's (and Ape's) default test mnemonic: funded dev accounts, never a real key.
DEV_MNEMONIC = "test test test test test test test test test test test junk"
GWEI = 10**9
MAX_UINT = 2**256 - 1


def dev_accounts(count: int = 10) -> list[LocalAccount]:
    """The first ``count`` funded dev accounts of anvil's default mnemonic."""
    Account.enable_unaudited_hdwallet_features()
    return [
        Account.from_mnemonic(DEV_MNEMONIC, account_path=f"m/44'/60'/0'/0/{i}")
        for i in range(count)
    ]


def sign_call(
    w3: Web3,
    account: LocalAccount,
    call: Any,
    *,
    nonce: int | None = None,
    gas: int = 300_000,
    tip: int = GWEI,
    fee_cap: int = 100 * GWEI,
) -> bytes:
    """Sign an EIP-1559 transaction for a web3 contract function call (not sent)."""
    tx = call.build_transaction(
        {
            "from": account.address,
            "nonce": nonce if nonce is not None else w3.eth.get_transaction_count(account.address),
            "gas": gas,
            "maxFeePerGas": fee_cap,
            "maxPriorityFeePerGas": tip,
            "chainId": w3.eth.chain_id,
        }
    )
    return bytes(account.sign_transaction(tx).raw_transaction)


def send_and_wait(w3: Web3, raw: bytes) -> Any:
    """Send a signed tx on an automining anvil and return its receipt (status checked)."""
    tx_hash = w3.eth.send_raw_transaction(raw)
    receipt = w3.eth.wait_for_transaction_receipt(tx_hash, timeout=30)
    if receipt["status"] != 1:
        raise UpstreamError(
            "eth_sendRawTransaction", f"set-up transaction {tx_hash.hex()} reverted"
        )
    return receipt


@dataclass
class V2Sandbox:
    """Router, factory, two 18-decimal tokens and their pair."""

    w3: Web3
    router: Contract
    token_in: Contract
    token_out: Contract
    pair: str

    def reserves(self) -> tuple[int, int]:
        """Reserves as (token_in side, token_out side)."""
        pair = self.w3.eth.contract(address=self.pair, abi=_PAIR_RESERVES_ABI)  # type: ignore[call-overload]
        r0, r1, _ = pair.functions.getReserves().call()
        token0 = pair.functions.token0().call()
        return (r0, r1) if token0 == self.token_in.address else (r1, r0)

    def quote(self, amount_in: int) -> int:
        path = [self.token_in.address, self.token_out.address]
        return int(self.router.functions.getAmountsOut(amount_in, path).call()[-1])

    def fund(self, deployer: LocalAccount, holder: LocalAccount, amount: int) -> None:
        """Mint ``amount`` of both tokens to ``holder`` and approve the router (automine on)."""
        for token in (self.token_in, self.token_out):
            send_and_wait(
                self.w3, sign_call(self.w3, deployer, token.functions.mint(holder.address, amount))
            )
            approve = token.functions.approve(self.router.address, MAX_UINT)
            send_and_wait(self.w3, sign_call(self.w3, holder, approve))


_PAIR_RESERVES_ABI = [
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
    },
    {
        "name": "token0",
        "type": "function",
        "stateMutability": "view",
        "inputs": [],
        "outputs": [{"name": "", "type": "address"}],
    },
]


def _deploy(w3: Web3, account: LocalAccount, name: str, *args: Any) -> Contract:
    from keeper.market.seed import default_source

    abi, code = default_source(name)
    factory = w3.eth.contract(abi=abi, bytecode=code)
    raw = sign_call(w3, account, factory.constructor(*args), gas=6_000_000)
    receipt = send_and_wait(w3, raw)
    return w3.eth.contract(address=receipt["contractAddress"], abi=abi)


def deploy_v2_sandbox(
    w3: Web3, deployer: LocalAccount, liquidity: int = 1_000_000 * 10**18
) -> V2Sandbox:
    """Deploy WETH9, the V2 factory and router, two TestTokens and a pair with ``liquidity`` of
    each token (price 1:1). anvil must be automining."""
    weth = _deploy(w3, deployer, "WETH9")
    factory = _deploy(w3, deployer, "UniswapV2Factory", deployer.address)
    router = _deploy(w3, deployer, "UniswapV2Router02", factory.address, weth.address)
    token_a = _deploy(w3, deployer, "TestToken", "Token In", "TIN", 18)
    token_b = _deploy(w3, deployer, "TestToken", "Token Out", "TOUT", 18)
    sandbox = V2Sandbox(w3, router, token_a, token_b, pair="")
    sandbox.fund(deployer, deployer, liquidity)
    add = router.functions.addLiquidity(
        token_a.address, token_b.address, liquidity, liquidity, 0, 0, deployer.address, 2**40
    )
    send_and_wait(w3, sign_call(w3, deployer, add, gas=5_000_000))
    sandbox.pair = factory.functions.getPair(token_a.address, token_b.address).call()
    return sandbox
