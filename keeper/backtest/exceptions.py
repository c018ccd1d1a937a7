"""Errors of the backtester; each names what is wrong in the user's own terms."""

from __future__ import annotations

from keeper.exceptions import KeeperError


class BacktestError(KeeperError):
    """Root of the backtester's deliberate errors."""


class PriceDataError(BacktestError):
    """A price file is malformed: names the file, the row (1 = header) and the column."""

    def __init__(self, source: str, row: int | None, column: str | None, problem: str) -> None:
        self.source = source
        self.row = row
        self.column = column
        self.problem = problem
        where = [source]
        if row is not None:
            where.append(f"row {row}")
        if column is not None:
            where.append(f"column '{column}'")
        super().__init__(f"{', '.join(where)}: {problem}")


class BacktestInputError(BacktestError):
    """A backtest parameter is invalid (``field`` is the option or key it came from)."""

    def __init__(self, field: str, problem: str) -> None:
        self.field = field
        self.problem = problem
        super().__init__(f"{field}: {problem}")
