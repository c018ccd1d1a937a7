"""On-chain facts for intake validation, read with plain ``eth_call`` through web3.

Only the few view functions needed are declared here (ERC-20 ``balanceOf``/``allowance``, the
executor's ``isNonceUsed``/``vault``, the vault's ``allowance`` and a smart wallet's ERC-1271
``isValidSignature``), so this works against any deployment without loading compiled artifacts.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

_ERC20_ABI = [
    {
        "name": "balanceOf",
        "type": "function",
        "stateMutability": "view",
        "inputs": [{"name": "owner", "type": "address"}],
        "outputs": [{"name": "", "type": "uint256"}],
    },
    {
        "name": "allowance",
        "type": "function",
        "stateMutability": "view",
        "inputs": [{"name": "owner", "type": "address"}, {"name": "spender", "type": "address"}],
        "outputs": [{"name": "", "type": "uint256"}],
    },
]
_METADATA_ABI = [
    {
        "name": "symbol",
        "type": "function",
        "stateMutability": "view",
        "inputs": [],
        "outputs": [{"name": "", "type": "string"}],
    },
    {
        "name": "decimals",
        "type": "function",
        "stateMutability": "view",
        "inputs": [],
        "outputs": [{"name": "", "type": "uint8"}],
    },
]
_EXECUTOR_ABI = [
    {
        "name": "isNonceUsed",
        "type": "function",
        "stateMutability": "view",
        "inputs": [{"name": "owner", "type": "address"}, {"name": "nonce", "type": "uint256"}],
        "outputs": [{"name": "", "type": "bool"}],
    },
    {
        "name": "vault",
        "type": "function",
        "stateMutability": "view",
        "inputs": [],
        "outputs": [{"name": "", "type": "address"}],
    },
]
_VAULT_ABI = [
    {
        "name": "allowance",
        "type": "function",
        "stateMutability": "view",
        "inputs": [{"name": "owner", "type": "address"}, {"name": "token", "type": "address"}],
        "outputs": [
            {"name": "amount", "type": "uint160"},
            {"name": "expiration", "type": "uint48"},
            {"name": "nonce", "type": "uint48"},
        ],
    },
]


#: ``isValidSignature(bytes32,bytes)``
ERC1271_SELECTOR = bytes.fromhex("1626ba7e")


class Web3ChainState:
    """:class:`keeper.intents.validation.ChainState` over a web3 connection.

    Args:
        web3: a connected ``Web3`` (e.g. ``ape.chain.provider.web3``).
        executor: the BatchExecutor address.
    """

    def __init__(self, web3: Any, executor: str) -> None:
        self.web3 = web3
        self.executor = web3.eth.contract(address=executor, abi=_EXECUTOR_ABI)
        self._token_info: dict[str, tuple[str, int] | None] = {}

    @cached_property
    def vault_address(self) -> str:
        return str(self.executor.functions.vault().call())

    @cached_property
    def _vault(self) -> Any:
        return self.web3.eth.contract(address=self.vault_address, abi=_VAULT_ABI)

    def _token(self, token: str) -> Any:
        return self.web3.eth.contract(address=token, abi=_ERC20_ABI)

    def nonce_used(self, owner: str, nonce: int) -> bool:
        return bool(self.executor.functions.isNonceUsed(owner, nonce).call())

    def balance(self, token: str, owner: str) -> int:
        return int(self._token(token).functions.balanceOf(owner).call())

    def token_allowance(self, token: str, owner: str) -> int:
        return int(self._token(token).functions.allowance(owner, self.vault_address).call())

    def vault_allowance(self, owner: str, token: str) -> tuple[int, int]:
        amount, expiration, _nonce = self._vault.functions.allowance(owner, token).call()
        return int(amount), int(expiration)

    def token_info(self, token: str) -> tuple[str, int] | None:
        """``(symbol, decimals)`` of ``token`` for messages, remembered per token; None when the
        token does not answer them (both are optional in ERC-20)."""
        key = token.lower()
        if key not in self._token_info:
            from web3.exceptions import ContractLogicError, Web3RPCError

            contract = self.web3.eth.contract(address=token, abi=_METADATA_ABI)
            try:
                info = (
                    str(contract.functions.symbol().call()),
                    int(contract.functions.decimals().call()),
                )
            except (ContractLogicError, Web3RPCError, ValueError, OverflowError):
                info = None  # answered, but not with a symbol and decimals (a node outage raises)
            self._token_info[key] = info
        return self._token_info[key]

    def has_code(self, address: str) -> bool:
        return len(self.web3.eth.get_code(address)) > 0

    def erc1271_answer(self, owner: str, digest: bytes, signature: bytes) -> bytes | None:
        """The raw return data of ``owner.isValidSignature(digest, signature)`` (read as
        OpenZeppelin's ``SignatureChecker`` reads it: the first 32 bytes); None if it reverted."""
        from eth_abi import encode
        from web3.exceptions import ContractLogicError, Web3RPCError

        data = ERC1271_SELECTOR + encode(["bytes32", "bytes"], [digest, signature])
        try:
            return bytes(self.web3.eth.call({"to": owner, "data": "0x" + data.hex()}))
        except (ContractLogicError, Web3RPCError):  # the node answered: the call failed
            return None
