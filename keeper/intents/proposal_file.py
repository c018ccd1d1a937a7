"""The proposal file ``keeper propose --out`` writes and ``keeper intent sign --from`` reads.

It carries what a person needs to review the unsigned intents without trusting the keeper's
arithmetic: the chain, each token's symbol and decimals, the USD prices the proposal was
priced at, and the intents themselves (base units, the wire format of docs/INTENTS.md)::

    {"chainId": 1, "owner": "0x…", "explanation": "WETH 52% vs 40% target …",
     "tokens": [{"address": "0x…", "symbol": "WETH", "decimals": 18, "usdPrice": 3000.0}],
     "legs": [{"sell": "0x…", "buy": "0x…", "amountIn": "2000…", "minOut": "5970…"}],
     "intents": [{"owner": "0x…", "executor": "0x…", "nonce": "0", …}]}

A bare JSON list of intents (the older form) is read too, without symbols or prices.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError
from pydantic.alias_generators import to_camel

from keeper.exceptions import KeeperError
from keeper.intents.types import Address, RebalanceIntent, Uint256


class ProposalFileError(KeeperError):
    """A proposal file cannot be read; names the file and the field."""

    def __init__(self, path: str, problem: str) -> None:
        self.path, self.problem = path, problem
        super().__init__(f"{path}: {problem}")


class TokenInfo(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True)

    address: Address
    symbol: str
    decimals: int
    usd_price: float | None = None


class PlannedLeg(BaseModel):
    """One pairwise trade the proposal planned (the intent signs only the per-token totals)."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True)

    sell: Address
    buy: Address
    amount_in: Uint256
    min_out: Uint256


class ProposalFile(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, frozen=True, extra="ignore"
    )

    chain_id: int | None = None
    owner: str | None = None
    explanation: str = ""
    tokens: tuple[TokenInfo, ...] = ()
    legs: tuple[PlannedLeg, ...] = ()
    intents: tuple[RebalanceIntent, ...]

    def to_json(self) -> str:
        return json.dumps(self.model_dump(mode="json", by_alias=True), indent=2)

    def token(self, address: str) -> TokenInfo | None:
        for token in self.tokens:
            if token.address.lower() == address.lower():
                return token
        return None


def load_proposal(path: Path) -> ProposalFile:
    """Read ``path``: a proposal document or a bare list of unsigned intents."""
    try:
        raw: Any = json.loads(path.read_text())
    except (OSError, ValueError) as err:
        raise ProposalFileError(str(path), f"not a readable JSON file ({err})") from None
    if isinstance(raw, list):
        raw = {"intents": raw}
    if isinstance(raw, dict) and "intent" in raw and "signature" in raw:
        raise ProposalFileError(
            str(path), "this is a signed intent; submit it with 'keeper intent submit'"
        )
    try:
        proposal = ProposalFile.model_validate(raw)
    except ValidationError as err:
        first = err.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "<root>"
        raise ProposalFileError(
            str(path),
            f"field '{field}': {first['msg']} (expected the file 'keeper propose --out' writes)",
        ) from None
    if not proposal.intents:
        raise ProposalFileError(str(path), "holds no intents")
    return proposal
