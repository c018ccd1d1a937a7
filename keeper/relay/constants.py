"""Protocol constants of the Flashbots bundle relay (docs.flashbots.net, JSON-RPC endpoints)."""

from __future__ import annotations

#: Header that carries ``<address>:<0x-signature>`` on every request.
SIGNATURE_HEADER = "X-Flashbots-Signature"

#: Bundle limits enforced by relay.flashbots.net (and by our client before sending).
MAX_BUNDLE_TXS = 100
MAX_BUNDLE_BYTES = 300_000

#: eth_sendPrivateTransaction: the relay retries a private tx for this many blocks by default.
PRIVATE_TX_DEFAULT_BLOCKS = 25

#: Public endpoints (mainnet). Builders listed are ones that accept eth_sendBundle directly; the
#: Flashbots relay also forwards to the builders named in a bundle's ``builders`` field.
FLASHBOTS_RELAY_MAINNET = "https://relay.flashbots.net"
FLASHBOTS_RELAY_SEPOLIA = "https://relay-sepolia.flashbots.net"

#: JSON-RPC error codes (JSON-RPC 2.0 plus the go-ethereum "server error" code relays use).
CODE_PARSE_ERROR = -32700
CODE_INVALID_REQUEST = -32600
CODE_METHOD_NOT_FOUND = -32601
CODE_INVALID_PARAMS = -32602
CODE_INTERNAL_ERROR = -32603
CODE_SERVER_ERROR = -32000

#: Methods that need a valid signature header on the relay.
SIGNED_METHODS = frozenset(
    {
        "eth_sendBundle",
        "eth_callBundle",
        "eth_cancelBundle",
        "eth_sendPrivateTransaction",
        "eth_cancelPrivateTransaction",
    }
)
