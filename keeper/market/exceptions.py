"""Errors of the local market, its seeding and the deployments files."""

from __future__ import annotations

from pathlib import Path

from keeper.exceptions import KeeperError


class MarketError(KeeperError):
    """Root of the market errors."""


class UnknownTokenError(MarketError):
    """A token symbol or address is not part of the market."""

    def __init__(self, token: str, known: list[str]) -> None:
        self.token = token
        self.known = known
        super().__init__(f"token '{token}' is not in the market (known: {', '.join(known)})")


class MarketAlreadyPresentError(MarketError):
    """Seeding refused: the chain already has code where the market would go."""

    def __init__(self, name: str, address: str, chain_id: int) -> None:
        self.name = name
        self.address = address
        self.chain_id = chain_id
        super().__init__(
            f"chain {chain_id} already has code at {name} {address}; refusing to seed over it "
            "(a real mainnet fork, or a market seeded by another version)"
        )


class SeedingError(MarketError):
    """A seeding transaction reverted or a seeded contract is not where it must be."""

    def __init__(self, step: str, problem: str) -> None:
        self.step = step
        self.problem = problem
        super().__init__(f"seeding step '{step}': {problem}")


class DeploymentsFileError(MarketError):
    """A deployments file is missing, unreadable or for another chain."""

    def __init__(self, path: Path, problem: str) -> None:
        self.path = path
        self.problem = problem
        super().__init__(f"deployments file {path}: {problem}")


class FundingError(MarketError):
    """An account could not be given a token balance."""

    def __init__(self, token: str, problem: str) -> None:
        self.token = token
        self.problem = problem
        super().__init__(f"funding {token}: {problem}")


class ExecutorDeploymentError(MarketError):
    """The executor cannot be deployed (or re-deployed) as asked."""

    def __init__(self, chain_id: int, problem: str) -> None:
        self.chain_id = chain_id
        self.problem = problem
        super().__init__(f"executor on chain {chain_id}: {problem}")
