"""Strategies as configuration: a YAML or TOML file validated by pydantic.

A file names an optional ``preset`` (see :mod:`keeper.strategy.presets`) whose values fill
every key the file leaves out, then the merged document is validated. Every error names the
dotted key it is about (``targets.WETH``, ``band``, ``triggers.drawdown.stop_loss``).

Fractions (weights, bands, costs) are written either as numbers in ``[0, 1]`` (``0.05``) or as
percentage strings (``"5%"``).
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator

from keeper.strategy.constants import KNOWN_TOKENS, Frequency
from keeper.strategy.exceptions import StrategyConfigError
from keeper.strategy.presets import PRESETS

_WEIGHT_TOLERANCE = 1e-6
#: keys a file replaces whole instead of merging into the preset
_REPLACED_WHOLE = frozenset({"targets", "components"})


def _fraction(value: Any) -> Any:
    if isinstance(value, str):
        text = value.strip()
        if text.endswith("%"):
            try:
                return float(text[:-1]) / 100.0
            except ValueError as err:
                raise ValueError(f"'{value}' is not a percentage") from err
        try:
            value = float(text)
        except ValueError as err:
            raise ValueError(f"'{value}' is not a fraction (0.05) or a percentage ('5%')") from err
    if isinstance(value, bool):
        raise ValueError("expected a fraction, got a boolean")
    if isinstance(value, int | float) and not 0.0 <= float(value) <= 1.0:
        raise ValueError(f"{value} is outside [0, 1]; write 0.05 or '5%'")
    return value


#: A number in [0, 1], also accepted as "5%".
Fraction = Annotated[float, BeforeValidator(_fraction), Field(ge=0.0, le=1.0)]


class _KeyedError(ValueError):
    """A validation problem that knows its own (sub-)key."""

    def __init__(self, key: str, problem: str) -> None:
        self.key = key
        super().__init__(problem)


def _pct(x: float) -> str:
    return f"{x * 100:g}%"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class TokenDeclaration(_Model):
    """A token the file declares itself (beyond :data:`~keeper.strategy.constants.KNOWN_TOKENS`)."""

    address: str | None = None
    decimals: int = Field(18, ge=0, le=36)
    sector: str = "other"
    stable: bool = False


class Component(_Model):
    """A slice of the portfolio with its own target and cadence (BTC/ETH strategies)."""

    target: Fraction
    frequency: Frequency
    #: token -> weight inside the component (sums to 1)
    tokens: dict[str, Fraction]

    @model_validator(mode="after")
    def _weights_sum_to_one(self) -> Component:
        total = sum(self.tokens.values())
        if not self.tokens or abs(total - 1.0) > _WEIGHT_TOLERANCE:
            raise ValueError(f"component token weights sum to {total:g}, not 1")
        return self


class CostRules(_Model):
    #: cost tolerance: the most a rebalance may cost, as a fraction of the portfolio
    max_cost: Fraction = 0.005
    #: the most gas may cost, as a fraction of the position (stablecoin vault: 0.01 %)
    max_gas: Fraction | None = None
    #: slippage allowance bounds; the allowance itself follows volatility
    min_slippage: Fraction = 0.0005
    max_slippage: Fraction = 0.01
    #: benefit must exceed cost times this factor
    benefit_margin: float = Field(1.0, ge=1.0, le=100.0)
    #: how long a correction's benefit is counted, in days
    horizon_days: float = Field(30.0, gt=0, le=3650)
    #: relative risk aversion used to price tracking error in dollars
    risk_aversion: float = Field(3.0, gt=0, le=100)


class ThresholdTriggerConfig(_Model):
    enabled: bool = True


class CalendarTriggerConfig(_Model):
    enabled: bool = True


class VolatilityTriggerConfig(_Model):
    enabled: bool = False
    lookback_days: int = Field(30, ge=5, le=3650)
    #: "relative": regimes by the recent volatility as a share of the assets' own volatility
    #: over ``reference_days``; "absolute": the product document's 15/25/40/60 % levels
    reference: Literal["relative", "absolute"] = "relative"
    reference_days: int = Field(365, ge=30, le=3650)


class RegimeTriggerConfig(_Model):
    enabled: bool = False
    method: Literal["variance-ratio", "hurst"] = "variance-ratio"
    lookback_days: int = Field(120, ge=20, le=3650)
    horizon: int = Field(4, ge=2, le=64)
    z_critical: float = Field(1.96, gt=0)
    mean_reverting_band_scale: float = Field(0.75, gt=0, le=1)
    trending_band_scale: float = Field(1.5, ge=1, le=4)
    #: largest relative target tilt toward trending assets (times the momentum factor)
    max_tilt: Fraction = 0.10


class OpportunityTriggerConfig(_Model):
    enabled: bool = False
    #: move when another venue yields at least this much more APY
    min_yield_gap: Fraction = 0.005
    #: ignore venues with less liquidity than this (USD)
    min_liquidity_usd: float = Field(1_000_000.0, ge=0)
    #: move at most this fraction of the position per step (gradual migration)
    max_step: Fraction = 0.25
    #: a single-period price move of this size (absolute) triggers a review
    price_move: Fraction = 0.10
    #: yield source: {kind: file, path: ...} or {kind: erc4626, ...}; see yields.py
    source: dict[str, Any] | None = None


class DrawdownTriggerConfig(_Model):
    enabled: bool = False
    #: start cutting risk at this drawdown from the peak
    derisk_at: Fraction = 0.15
    #: user stop-loss: exit to the safe asset at this drawdown (None: never)
    stop_loss: Fraction | None = 0.30
    #: lowest risk scale while de-risked
    floor: Fraction = 0.25
    #: how much the risk scale may rise per evaluation on recovery
    rerisk_step: Fraction = 0.10
    safe_asset: str = "USDC"

    @model_validator(mode="after")
    def _ordered(self) -> DrawdownTriggerConfig:
        if self.stop_loss is not None and self.stop_loss <= self.derisk_at:
            raise ValueError(
                f"stop_loss {_pct(self.stop_loss)} must exceed derisk_at {_pct(self.derisk_at)}"
            )
        return self


class Triggers(_Model):
    threshold: ThresholdTriggerConfig = ThresholdTriggerConfig()
    calendar: CalendarTriggerConfig = CalendarTriggerConfig()
    volatility: VolatilityTriggerConfig = VolatilityTriggerConfig()
    regime: RegimeTriggerConfig = RegimeTriggerConfig()
    opportunity: OpportunityTriggerConfig = OpportunityTriggerConfig()
    drawdown: DrawdownTriggerConfig = DrawdownTriggerConfig()


ModelKind = Literal["fixed", "market-cap", "kelly", "mean-variance", "risk-parity", "vol-target"]


class AllocationModelConfig(_Model):
    kind: ModelKind = "fixed"
    #: fractional Kelly multiplier (1 = full Kelly)
    risk_tolerance: float = Field(0.25, gt=0, le=1)
    risk_aversion: float = Field(4.0, gt=0, le=100)
    risk_free_rate: float = Field(0.0, ge=-0.1, le=0.5)
    target_volatility: Fraction = 0.20
    lookback_days: int = Field(90, ge=10, le=3650)
    #: the asset that holds what risky weights leave over (Kelly, vol targeting)
    cash_asset: str | None = None
    #: market-cap index: token -> market cap in USD, eligibility floor, phase-in length
    market_caps: dict[str, float] | None = None
    min_market_cap_usd: float = Field(0.0, ge=0)
    phase_weeks: int = Field(4, ge=1, le=52)


class Rules(_Model):
    """Custom rules (product document, feature 18) and index-fund options."""

    #: -1 contrarian ... 0 neutral ... 1 trend following
    momentum_factor: float = Field(0.0, ge=-1.0, le=1.0)
    volatility_scaling: bool = False
    #: assets whose return correlation exceeds this form groups that share the cap
    #: ``max_weight`` (models/correlation.py); needs max_weight below 100 %
    correlation_limit: Fraction | None = None
    #: sector -> largest total weight
    sector_caps: dict[str, Fraction] = Field(default_factory=dict)
    #: largest weight of any single token
    max_weight: Fraction = 1.0
    #: count the tax on realised gains as a cost (keeper/strategy/tax.py); lots come from
    #: ``cost_basis`` (a JSON/YAML file, relative to the strategy file)
    tax_aware: bool = False
    cost_basis: str | None = None
    tax_rate: Fraction = 0.25
    minimize_trades: bool = True

    @model_validator(mode="after")
    def _rules_used(self) -> Rules:
        if self.correlation_limit is not None and self.max_weight >= 1.0:
            raise _KeyedError(
                "rules.correlation_limit",
                "a correlated group shares the cap rules.max_weight: set max_weight below 100%",
            )
        if self.cost_basis is not None and not self.tax_aware:
            raise _KeyedError("rules.cost_basis", "given but rules.tax_aware is false")
        return self


class HistoryConfig(_Model):
    """Where daily closes are recorded (keeper/strategy/live/history.py)."""

    #: SQLite file, relative to the strategy file; None: no history (defaults are used)
    path: str | None = None
    #: a gap longer than this (days) cuts the series
    max_gap_days: int = Field(3, ge=0, le=30)


class StrategyConfig(_Model):
    """A validated strategy."""

    name: str = Field(min_length=1)
    preset: str | None = None
    tokens: dict[str, TokenDeclaration] = Field(default_factory=dict)
    targets: dict[str, Fraction] = Field(default_factory=dict)
    components: dict[str, Component] = Field(default_factory=dict)
    band: Fraction
    frequency: Frequency
    #: where a correction goes: the target, half-way into the band, the band edge, or
    #: whichever of those has the best benefit net of cost
    rebalance_to: Literal["target", "inner", "edge", "cheapest"] = "cheapest"
    costs: CostRules = CostRules()
    triggers: Triggers = Triggers()
    model: AllocationModelConfig = AllocationModelConfig()
    rules: Rules = Rules()
    history: HistoryConfig = HistoryConfig()

    @model_validator(mode="after")
    def _check(self) -> StrategyConfig:
        _check_band(self.band)
        _check_targets(self)
        _check_tokens_known(self)
        _check_sector_caps(self)
        return self

    # -- derived views -------------------------------------------------------------------
    def target_weights(self) -> dict[str, float]:
        """Token -> target weight (from ``targets`` or expanded from ``components``)."""
        if self.targets:
            return dict(self.targets)
        out: dict[str, float] = {}
        for component in self.components.values():
            for token, weight in component.tokens.items():
                out[token] = out.get(token, 0.0) + component.target * weight
        return out

    def token_sector(self, symbol: str) -> str:
        if symbol in self.tokens:
            return self.tokens[symbol].sector
        return KNOWN_TOKENS[symbol].sector

    def is_stable(self, symbol: str) -> bool:
        if symbol in self.tokens:
            return self.tokens[symbol].stable
        return KNOWN_TOKENS[symbol].stable

    def decimals(self, symbol: str) -> int:
        if symbol in self.tokens:
            return self.tokens[symbol].decimals
        return KNOWN_TOKENS[symbol].decimals


def _check_band(band: float) -> None:
    if not 0.01 - 1e-12 <= band <= 0.20 + 1e-12:
        raise _KeyedError("band", f"must be between 1% and 20% of the portfolio, got {_pct(band)}")


def _check_targets(cfg: StrategyConfig) -> None:
    if cfg.targets and cfg.components:
        raise _KeyedError("targets", "give either 'targets' or 'components', not both")
    if cfg.components:
        total = sum(c.target for c in cfg.components.values())
        if abs(total - 1.0) > _WEIGHT_TOLERANCE:
            raise _KeyedError("components", f"component targets sum to {total:g}, not 1")
        return
    if not cfg.targets:
        raise _KeyedError("targets", "no target weights (give 'targets' or 'components')")
    total = sum(cfg.targets.values())
    if abs(total - 1.0) > _WEIGHT_TOLERANCE:
        raise _KeyedError("targets", f"weights sum to {total:g}, not 1")


def _check_tokens_known(cfg: StrategyConfig) -> None:
    def check(key: str, symbol: str) -> None:
        if symbol not in cfg.tokens and symbol not in KNOWN_TOKENS:
            raise _KeyedError(
                key,
                f"unknown token '{symbol}' (declare it under 'tokens' or use one of "
                f"{', '.join(sorted(KNOWN_TOKENS))})",
            )

    for symbol in cfg.targets:
        check(f"targets.{symbol}", symbol)
    for cname, component in cfg.components.items():
        for symbol in component.tokens:
            check(f"components.{cname}.tokens.{symbol}", symbol)
    for symbol in cfg.model.market_caps or {}:
        check(f"model.market_caps.{symbol}", symbol)
    if cfg.model.cash_asset is not None:
        check("model.cash_asset", cfg.model.cash_asset)
    if cfg.triggers.drawdown.enabled:
        check("triggers.drawdown.safe_asset", cfg.triggers.drawdown.safe_asset)


def _check_sector_caps(cfg: StrategyConfig) -> None:
    if cfg.model.kind != "fixed":
        return  # optimised models respect caps themselves
    weights = cfg.target_weights()
    for sector, cap in cfg.rules.sector_caps.items():
        total = sum(w for s, w in weights.items() if cfg.token_sector(s) == sector)
        if total > cap + _WEIGHT_TOLERANCE:
            raise _KeyedError(
                f"rules.sector_caps.{sector}",
                f"targets put {_pct(total)} in sector '{sector}', above its cap {_pct(cap)}",
            )


# -- loading -------------------------------------------------------------------------------


def _deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in override.items():
        if (
            isinstance(value, dict)
            and isinstance(out.get(key), dict)
            and key not in _REPLACED_WHOLE
        ):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def _key_of(loc: tuple[Any, ...]) -> str:
    return ".".join(str(p) for p in loc if not (isinstance(p, str) and p.startswith("function-")))


def parse_strategy(raw: Any, source: str | None = None) -> StrategyConfig:
    """Validate a strategy document (already parsed into Python objects)."""
    if not isinstance(raw, dict):
        raise StrategyConfigError("<root>", "the document must be a mapping of keys", source)
    preset = raw.get("preset")
    if preset is not None:
        if preset not in PRESETS:
            known = ", ".join(sorted(PRESETS))
            raise StrategyConfigError(
                "preset", f"unknown preset '{preset}' (known: {known})", source
            )
        raw = _deep_merge(PRESETS[preset], raw)
    try:
        return StrategyConfig.model_validate(raw)
    except ValidationError as err:
        first = err.errors()[0]
        key, problem = _key_of(first["loc"]), str(first["msg"])
        ctx_err = (first.get("ctx") or {}).get("error")
        if isinstance(ctx_err, _KeyedError):
            key = ctx_err.key
            problem = str(ctx_err)
        elif first["type"] == "extra_forbidden":
            problem = "unknown key (not part of the strategy schema; check its spelling)"
        elif first["type"] == "missing":
            problem = "required key is missing"
        elif problem.startswith("Value error, "):
            problem = problem.removeprefix("Value error, ")
        if not key:
            key = "<root>"
        more = err.error_count() - 1
        if more:
            problem += f" (and {more} more problem{'s' if more > 1 else ''})"
        raise StrategyConfigError(key, problem, source) from None


def load_strategy(path: str | Path) -> StrategyConfig:
    """Read and validate a strategy file (``.yaml``/``.yml`` or ``.toml``)."""
    import yaml

    path = Path(path)
    try:
        text = path.read_text()
    except OSError as err:
        raise StrategyConfigError("<file>", f"cannot read: {err.strerror}", str(path)) from None
    try:
        if path.suffix == ".toml":
            raw: Any = tomllib.loads(text)
        else:
            raw = yaml.safe_load(text)
    except (yaml.YAMLError, tomllib.TOMLDecodeError) as err:
        problem = " ".join(str(err).split())
        raise StrategyConfigError("<file>", f"not valid YAML/TOML: {problem}", str(path)) from None
    return parse_strategy(raw, str(path))
