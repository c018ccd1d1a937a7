"""Typed pool snapshots and their JSON form (see docs/ROUTING.md).

A :class:`Snapshot` is everything the router needs to quote exactly: Uniswap V2 reserves and
Uniswap V3 state (price, tick, in-range liquidity and every initialised tick with its
``liquidityNet`` inside the scanned tick window). Fees are in hundredths of a bip (3000 =
0.3 %), as in Uniswap; amounts are integers, written as decimal strings in JSON so that no
JSON reader rounds them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    ValidationError,
    field_validator,
    model_validator,
)

from keeper.routing.constants import MAX_SQRT_RATIO, MAX_TICK, MIN_SQRT_RATIO, MIN_TICK
from keeper.routing.exceptions import SnapshotError, UnknownTokenError


def _integer(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError(f"expected an integer string, got {type(value).__name__}")
    if isinstance(value, str):
        text = value.strip()
        if not text.lstrip("-").isdigit():
            raise ValueError(f"expected an integer string, got {value!r}")
        return int(text)
    return value


def _address(value: Any) -> str:
    from eth_utils import is_address, to_checksum_address

    if not isinstance(value, str) or not is_address(value):
        raise ValueError(f"expected a 20-byte hex address, got {value!r}")
    return str(to_checksum_address(value))


#: An integer that travels as a decimal string in JSON.
IntStr = Annotated[int, BeforeValidator(_integer), PlainSerializer(str, return_type=str)]
Address = Annotated[str, BeforeValidator(_address)]
Fee = Annotated[int, Field(ge=0, lt=1_000_000)]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Token(_Model):
    address: Address
    symbol: str = ""
    decimals: int = Field(default=18, ge=0, le=77)


class V2Pool(_Model):
    """A constant-product pair (Uniswap V2 or a fork with another fee)."""

    kind: Literal["v2"] = "v2"
    address: Address
    token0: Address
    token1: Address
    fee: Fee = 3000
    reserve0: IntStr = Field(ge=0)
    reserve1: IntStr = Field(ge=0)

    @model_validator(mode="after")
    def _sorted_tokens(self) -> V2Pool:
        _check_order(self.token0, self.token1)
        return self


class V3Tick(_Model):
    index: int = Field(ge=MIN_TICK, le=MAX_TICK)
    liquidity_net: IntStr


class V3Pool(_Model):
    """A concentrated-liquidity pool (Uniswap V3).

    ``tick_window`` is the inclusive range of ticks whose bitmap words were scanned: every
    initialised tick inside it is listed in ``ticks``. Quotes that would leave it fail rather
    than guess.
    """

    kind: Literal["v3"] = "v3"
    address: Address
    token0: Address
    token1: Address
    fee: Fee
    tick_spacing: int = Field(gt=0, le=16384)
    sqrt_price_x96: IntStr
    tick: int = Field(ge=MIN_TICK, le=MAX_TICK)
    liquidity: IntStr = Field(ge=0, lt=2**128)
    ticks: tuple[V3Tick, ...] = ()
    tick_window: tuple[int, int]

    @field_validator("sqrt_price_x96")
    @classmethod
    def _price_in_range(cls, value: int) -> int:
        if not MIN_SQRT_RATIO <= value < MAX_SQRT_RATIO:
            raise ValueError("outside [MIN_SQRT_RATIO, MAX_SQRT_RATIO)")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> V3Pool:
        _check_order(self.token0, self.token1)
        lo, hi = self.tick_window
        if not lo <= self.tick <= hi:
            raise ValueError(f"tick {self.tick} outside tick_window [{lo}, {hi}]")
        indices = [t.index for t in self.ticks]
        if indices != sorted(set(indices)):
            raise ValueError("ticks must be sorted by index without duplicates")
        for index in indices:
            if index % self.tick_spacing or not lo <= index <= hi:
                raise ValueError(f"tick {index} not a multiple of tick_spacing inside tick_window")
        return self


Pool = Annotated[V2Pool | V3Pool, Field(discriminator="kind")]


class Snapshot(_Model):
    """Pool state at one block."""

    version: Literal[1] = 1
    chain_id: int = Field(default=1, gt=0)
    block_number: int = Field(default=0, ge=0)
    weth: Address | None = None
    tokens: tuple[Token, ...]
    pools: tuple[Pool, ...]

    @model_validator(mode="after")
    def _tokens_known(self) -> Snapshot:
        known = {t.address for t in self.tokens}
        if len(known) != len(self.tokens):
            raise ValueError("duplicate token address")
        for i, pool in enumerate(self.pools):
            for name in ("token0", "token1"):
                if getattr(pool, name) not in known:
                    raise ValueError(f"pools[{i}].{name} {getattr(pool, name)} not in tokens")
        addresses = [p.address for p in self.pools]
        if len(set(addresses)) != len(addresses):
            raise ValueError("duplicate pool address")
        return self

    def token(self, ref: str, field: str = "token") -> Token:
        """The token whose address or (case-insensitive) symbol is ``ref``."""
        needle = ref.strip().lower()
        for token in self.tokens:
            if token.address.lower() == needle or token.symbol.lower() == needle:
                return token
        raise UnknownTokenError(field, ref)

    def pool(self, address: str) -> V2Pool | V3Pool:
        for pool in self.pools:
            if pool.address.lower() == address.lower():
                return pool
        raise SnapshotError("pools", f"no pool {address}")

    def to_json(self, indent: int | None = 2) -> str:
        return self.model_dump_json(indent=indent)

    def save(self, path: str | Path) -> None:
        Path(path).write_text(self.to_json() + "\n")

    @classmethod
    def from_json(cls, text: str | bytes) -> Snapshot:
        try:
            return cls.model_validate_json(text)
        except ValidationError as err:
            raise _snapshot_error(err) from None

    @classmethod
    def from_dict(cls, data: Any) -> Snapshot:
        try:
            return cls.model_validate(data)
        except ValidationError as err:
            raise _snapshot_error(err) from None

    @classmethod
    def load(cls, path: str | Path) -> Snapshot:
        try:
            text = Path(path).read_bytes()
        except OSError as err:
            raise SnapshotError("path", f"cannot read {path}: {err.strerror}") from None
        return cls.from_json(text)


def _check_order(token0: str, token1: str) -> None:
    if int(token0, 16) >= int(token1, 16):
        raise ValueError("token0 must sort below token1 (Uniswap order)")


def _snapshot_error(err: ValidationError) -> SnapshotError:
    first = err.errors()[0]
    field = ".".join(str(part) for part in first["loc"]) or "<root>"
    return SnapshotError(field, first["msg"])
