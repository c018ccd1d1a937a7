"""A private anvil (``--order fifo``) behind a LocalRelay, for the relay integration tests."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import Web3

from keeper.chain.anvil import AnvilProcess
from keeper.relay import RelayClient
from keeper.relay.sandbox import dev_accounts
from keeper.relay.server import LocalRelay

# Runtime code "PUSH0 PUSH0 REVERT" behind a 10-byte constructor that returns it.
REVERTER_INIT = bytes.fromhex("6003600a5f3960035ff3" + "5f5ffd")


@dataclass
class RelayChain:
    w3: Web3
    relay: LocalRelay
    client: RelayClient
    accounts: list[LocalAccount]
    reverter: str

    def transfer(
        self,
        sender: LocalAccount,
        nonce: int | None = None,
        to: str | None = None,
        tip: int = 10**9,
        value: int = 1,
    ) -> bytes:
        tx = {
            "to": to or "0x000000000000000000000000000000000000dEaD",
            "value": value,
            "gas": 60_000,
            "maxFeePerGas": 10**11,
            "maxPriorityFeePerGas": tip,
            "nonce": self.w3.eth.get_transaction_count(sender.address) if nonce is None else nonce,
            "chainId": self.w3.eth.chain_id,
            "type": 2,
        }
        return bytes(sender.sign_transaction(tx).raw_transaction)

    def head(self) -> int:
        return int(self.w3.eth.block_number)

    def receipt(self, tx_hash: str):
        return self.w3.provider.make_request("eth_getTransactionReceipt", [tx_hash])["result"]


@contextmanager
def relay_chain() -> Iterator[RelayChain]:
    with AnvilProcess(args=["--order", "fifo"]) as anvil:
        w3 = Web3(Web3.HTTPProvider(anvil.url))
        accounts = dev_accounts(6)
        deployer = accounts[0]
        signed = deployer.sign_transaction(
            {
                "data": REVERTER_INIT,
                "gas": 100_000,
                "gasPrice": 10**10,
                "nonce": 0,
                "chainId": w3.eth.chain_id,
            }
        )
        receipt = w3.eth.wait_for_transaction_receipt(
            w3.eth.send_raw_transaction(signed.raw_transaction)
        )
        with LocalRelay(anvil.url) as relay:
            client = RelayClient(relay.url, Account.from_key("0x" + "5e" * 32), backoff=0.01)
            yield RelayChain(w3, relay, client, accounts, receipt["contractAddress"])
