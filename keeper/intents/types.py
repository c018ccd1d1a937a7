"""The one definition of a rebalance intent, in Python.

Mirrors ``contracts/interfaces/IIntentTypes.sol`` field for field. Everything that signs,
validates, stores or encodes an intent uses these models, so the off-chain and on-chain hashes
cannot drift apart unnoticed (``tests/contracts/test_hash_intent.py`` compares them).

Wire format (JSON): camelCase field names as in Solidity, amounts as decimal integer strings
(JavaScript numbers lose precision above 2**53), addresses checksummed, bytes as ``0x`` hex.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated, Any

from eth_utils import is_hex_address, to_checksum_address
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    ValidationError,
    model_validator,
)
from pydantic.alias_generators import to_camel

from keeper.exceptions import KeeperError

DOMAIN_NAME = "IntentRebalancer"
DOMAIN_VERSION = "1"
VAULT_DOMAIN_NAME = "IntentRebalancerVault"
VAULT_DOMAIN_VERSION = "1"
ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"
UINT256_MAX = 2**256 - 1
UINT160_MAX = 2**160 - 1
UINT48_MAX = 2**48 - 1

TOKEN_AMOUNT_TYPE = "TokenAmount(address token,uint256 amount)"
#: the exact EIP-712 type string the contract hashes (primary type, then referenced types)
REBALANCE_INTENT_TYPE = (
    "RebalanceIntent(address owner,address executor,address keeper,uint256 nonce,"
    "uint256 validAfter,uint256 deadline,TokenAmount[] sells,TokenAmount[] buys,"
    "address feeToken,uint256 maxFee)" + TOKEN_AMOUNT_TYPE
)
ALLOWANCE_PERMIT_TYPE = (
    "AllowancePermit(address owner,address token,uint160 amount,uint48 expiration,"
    "uint48 nonce,uint256 deadline)"
)

_EIP712_DOMAIN_FIELDS = [
    {"name": "name", "type": "string"},
    {"name": "version", "type": "string"},
    {"name": "chainId", "type": "uint256"},
    {"name": "verifyingContract", "type": "address"},
]

INTENT_EIP712_TYPES: dict[str, list[dict[str, str]]] = {
    "EIP712Domain": _EIP712_DOMAIN_FIELDS,
    "RebalanceIntent": [
        {"name": "owner", "type": "address"},
        {"name": "executor", "type": "address"},
        {"name": "keeper", "type": "address"},
        {"name": "nonce", "type": "uint256"},
        {"name": "validAfter", "type": "uint256"},
        {"name": "deadline", "type": "uint256"},
        {"name": "sells", "type": "TokenAmount[]"},
        {"name": "buys", "type": "TokenAmount[]"},
        {"name": "feeToken", "type": "address"},
        {"name": "maxFee", "type": "uint256"},
    ],
    "TokenAmount": [
        {"name": "token", "type": "address"},
        {"name": "amount", "type": "uint256"},
    ],
}

PERMIT_EIP712_TYPES: dict[str, list[dict[str, str]]] = {
    "EIP712Domain": _EIP712_DOMAIN_FIELDS,
    "AllowancePermit": [
        {"name": "owner", "type": "address"},
        {"name": "token", "type": "address"},
        {"name": "amount", "type": "uint160"},
        {"name": "expiration", "type": "uint48"},
        {"name": "nonce", "type": "uint48"},
        {"name": "deadline", "type": "uint256"},
    ],
}


class IntentFormatError(KeeperError):
    """An intent (or a part of one) is malformed; ``field`` names the offending field."""

    def __init__(self, field: str, problem: str) -> None:
        self.field = field
        self.problem = problem
        super().__init__(f"intent field '{field}': {problem}")

    @classmethod
    def from_validation(cls, err: ValidationError) -> IntentFormatError:
        first = err.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or "<root>"
        return cls(field, first["msg"])


def _parse_uint(bits: int) -> Any:
    def parse(value: Any) -> int:
        if isinstance(value, bool):
            raise ValueError("expected an integer, got a bool")
        if isinstance(value, str):
            text = value.strip()
            value = int(text, 16) if text.lower().startswith("0x") else int(text, 10)
        if not isinstance(value, int):
            raise ValueError(f"expected an integer or integer string, got {type(value).__name__}")
        if not 0 <= value < 2**bits:
            raise ValueError(f"{value} is outside uint{bits}")
        return value

    return parse


def _parse_address(value: Any) -> str:
    if isinstance(value, bytes) and len(value) == 20:
        value = "0x" + value.hex()
    if not isinstance(value, str) and hasattr(value, "address"):  # Ape accounts and contracts
        value = str(value.address)
    if not isinstance(value, str) or not is_hex_address(value):
        raise ValueError(f"{value!r} is not a 20-byte hex address")
    return str(to_checksum_address(value))


def _parse_bytes(value: Any) -> bytes:
    if isinstance(value, bytes | bytearray):
        return bytes(value)
    if isinstance(value, str):
        text = value[2:] if value.lower().startswith("0x") else value
        return bytes.fromhex(text)
    raise ValueError(f"expected bytes or 0x-hex, got {type(value).__name__}")


_as_str = PlainSerializer(str, when_used="json")
Uint256 = Annotated[int, BeforeValidator(_parse_uint(256)), _as_str]
Uint160 = Annotated[int, BeforeValidator(_parse_uint(160)), _as_str]
Uint48 = Annotated[int, BeforeValidator(_parse_uint(48)), _as_str]
Address = Annotated[str, BeforeValidator(_parse_address)]
HexBytes = Annotated[
    bytes,
    BeforeValidator(_parse_bytes),
    PlainSerializer(lambda b: "0x" + b.hex(), when_used="json"),
]


class _Model(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, frozen=True, extra="forbid"
    )

    @classmethod
    def parse(cls, data: Any) -> Any:
        """Validate a dict (or JSON text), raising :class:`IntentFormatError` naming the field."""
        try:
            if isinstance(data, str | bytes):
                return cls.model_validate_json(data)
            return cls.model_validate(data)
        except ValidationError as err:
            raise IntentFormatError.from_validation(err) from err

    def to_json(self) -> str:
        """The wire format: camelCase names, integer strings, checksummed addresses."""
        return self.model_dump_json(by_alias=True)


class TokenAmount(_Model):
    """One leg: a token and an amount (a maximum for sells, a minimum for buys)."""

    token: Address
    amount: Uint256

    def as_abi(self) -> tuple[str, int]:
        return (self.token, self.amount)


class RebalanceIntent(_Model):
    """What a user signs: the limits of one multi-asset rebalance (see docs/INTENTS.md)."""

    owner: Address
    executor: Address
    keeper: Address = ZERO_ADDRESS
    nonce: Uint256
    valid_after: Uint256 = 0
    deadline: Uint256
    sells: tuple[TokenAmount, ...] = Field(default=())
    buys: tuple[TokenAmount, ...] = Field(default=())
    fee_token: Address = ZERO_ADDRESS
    max_fee: Uint256 = 0

    @model_validator(mode="after")
    def _check_consistency(self) -> RebalanceIntent:
        if self.owner == ZERO_ADDRESS:
            raise ValueError("owner must not be the zero address")
        if self.deadline < self.valid_after:
            raise ValueError(f"deadline {self.deadline} is before validAfter {self.valid_after}")
        if self.max_fee and self.fee_token == ZERO_ADDRESS:
            raise ValueError("maxFee > 0 needs a feeToken")
        return self

    @property
    def nonce_word(self) -> int:
        """Index of the 256-bit bitmap word holding this nonce (``nonce >> 8``)."""
        return self.nonce >> 8

    @property
    def nonce_bit(self) -> int:
        """Bit position inside that word (``nonce & 0xff``)."""
        return self.nonce & 0xFF

    def eip712_message(self) -> dict[str, Any]:
        """The ``message`` part of the typed data (JSON-safe: big integers as ints)."""
        return {
            "owner": self.owner,
            "executor": self.executor,
            "keeper": self.keeper,
            "nonce": self.nonce,
            "validAfter": self.valid_after,
            "deadline": self.deadline,
            "sells": [{"token": leg.token, "amount": leg.amount} for leg in self.sells],
            "buys": [{"token": leg.token, "amount": leg.amount} for leg in self.buys],
            "feeToken": self.fee_token,
            "maxFee": self.max_fee,
        }

    def typed_data(self, chain_id: int) -> dict[str, Any]:
        """The full EIP-712 document a wallet signs (``eth_signTypedData_v4``)."""
        return {
            "types": INTENT_EIP712_TYPES,
            "primaryType": "RebalanceIntent",
            "domain": intent_domain(chain_id, self.executor),
            "message": self.eip712_message(),
        }

    def wallet_typed_data(self, chain_id: int) -> dict[str, Any]:
        """:meth:`typed_data` with every uint as a decimal string: safe to send as JSON to a
        wallet's ``eth_signTypedData_v4`` (JavaScript numbers lose precision above 2**53).
        Hashes to the same digest."""
        data = self.typed_data(chain_id)
        message = data["message"]
        for key in ("nonce", "validAfter", "deadline", "maxFee"):
            message[key] = str(message[key])
        for legs in (message["sells"], message["buys"]):
            for leg in legs:
                leg["amount"] = str(leg["amount"])
        return data

    def as_abi(self) -> tuple[Any, ...]:
        """The Solidity tuple, in struct order, for contract calls and ABI encoding."""
        return (
            self.owner,
            self.executor,
            self.keeper,
            self.nonce,
            self.valid_after,
            self.deadline,
            [leg.as_abi() for leg in self.sells],
            [leg.as_abi() for leg in self.buys],
            self.fee_token,
            self.max_fee,
        )


class DirectLeg(_Model):
    """Where a sell leg goes instead of the executor: straight to the owner of buy leg ``leg``
    of order ``order`` (its index in the batch), which must be in the same token. The contract
    measures that owner's balance growth over the whole batch, so what arrives counts toward
    its signed minimum; one transfer instead of two for a coincidence of wants."""

    order: int = Field(ge=0, lt=0xFFFF)
    leg: int = Field(ge=0, le=0xFF)


class Execution(_Model):
    """Keeper-chosen amounts for one intent (unsigned; the contract checks them against it).

    ``buy_amounts[j]`` is what the executor itself transfers to the owner for buy leg ``j``;
    direct legs of other orders (``sell_to``) may deliver the rest. ``sell_to`` is empty (every
    sell to the executor) or holds one entry per sell leg, ``None`` for the executor."""

    sell_amounts: tuple[Uint256, ...]
    buy_amounts: tuple[Uint256, ...]
    fee: Uint256 = 0
    sell_to: tuple[DirectLeg | None, ...] = ()

    @model_validator(mode="after")
    def _check_destinations(self) -> Execution:
        if self.sell_to and len(self.sell_to) != len(self.sell_amounts):
            raise ValueError(
                f"execution.sellTo has {len(self.sell_to)} entries, "
                f"execution.sellAmounts has {len(self.sell_amounts)}"
            )
        return self

    def destination(self, leg: int) -> DirectLeg | None:
        """Sell leg ``leg``'s direct recipient, or None (the executor)."""
        return self.sell_to[leg] if self.sell_to else None


class Order(_Model):
    """A signed intent plus the keeper's execution of it: one element of ``settle(orders, ...)``."""

    intent: RebalanceIntent
    signature: HexBytes
    execution: Execution

    @model_validator(mode="after")
    def _check_lengths(self) -> Order:
        if len(self.execution.sell_amounts) != len(self.intent.sells):
            raise ValueError(
                f"execution.sellAmounts has {len(self.execution.sell_amounts)} entries, "
                f"intent.sells has {len(self.intent.sells)}"
            )
        if len(self.execution.buy_amounts) != len(self.intent.buys):
            raise ValueError(
                f"execution.buyAmounts has {len(self.execution.buy_amounts)} entries, "
                f"intent.buys has {len(self.intent.buys)}"
            )
        if len(self.intent.sells) > 0xFF or len(self.intent.buys) > 0xFF:
            raise ValueError("an intent has at most 255 sell legs and 255 buy legs")
        if len(self.signature) > 0xFFFF:
            raise ValueError(f"signature is {len(self.signature)} bytes, at most 65,535")
        return self


class Interaction(_Model):
    """A plain CALL the executor makes between pulling and delivering (e.g. a pool swap)."""

    target: Address
    value: Uint256 = 0
    call_data: HexBytes = b""

    def as_abi(self) -> tuple[Any, ...]:
        return (self.target, self.value, self.call_data)


class AllowancePermit(_Model):
    """A signed per-token allowance for the vault (lets a user set it without gas)."""

    owner: Address
    token: Address
    amount: Uint160
    expiration: Uint48
    nonce: Uint48
    deadline: Uint256

    def typed_data(self, chain_id: int, vault: str) -> dict[str, Any]:
        return {
            "types": PERMIT_EIP712_TYPES,
            "primaryType": "AllowancePermit",
            "domain": {
                "name": VAULT_DOMAIN_NAME,
                "version": VAULT_DOMAIN_VERSION,
                "chainId": chain_id,
                "verifyingContract": _parse_address(vault),
            },
            "message": {
                "owner": self.owner,
                "token": self.token,
                "amount": self.amount,
                "expiration": self.expiration,
                "nonce": self.nonce,
                "deadline": self.deadline,
            },
        }

    def as_abi(self) -> tuple[Any, ...]:
        return (self.owner, self.token, self.amount, self.expiration, self.nonce, self.deadline)


def next_free_nonce(bitmap: int, word: int = 0, taken: Iterable[int] = ()) -> int | None:
    """The lowest nonce of bitmap word ``word`` that is neither spent on-chain (its bit is set in
    ``bitmap``, the executor's ``nonceBitmap(owner, word)``) nor in ``taken`` (nonces of intents
    signed but not yet settled); ``None`` if the word has no free nonce left.

    Wallets should fill one word before starting the next rather than pick random nonces: the
    settlement spends a nonce in a word the owner has used before for ~5k gas (a non-zero word
    rewritten), in a fresh word for ~22k (a zero word made non-zero): ~17k saved per intent.
    """
    if not 0 <= bitmap < 2**256:
        raise IntentFormatError("nonceBitmap", f"{bitmap} is not a 256-bit word")
    if not 0 <= word < 2**248:
        raise IntentFormatError("nonce word", f"{word} is outside uint248")
    busy = bitmap
    for nonce in taken:
        if nonce >> 8 == word:
            busy |= 1 << (nonce & 0xFF)
    free = ~busy & (2**256 - 1)
    if free == 0:
        return None
    return (word << 8) | ((free & -free).bit_length() - 1)


def intent_domain(chain_id: int, executor: str) -> dict[str, Any]:
    """The executor's EIP-712 domain (name, version, chain id, verifying contract)."""
    return {
        "name": DOMAIN_NAME,
        "version": DOMAIN_VERSION,
        "chainId": chain_id,
        "verifyingContract": _parse_address(executor),
    }
