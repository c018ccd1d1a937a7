"""Typed keeper settings: defaults < config file (YAML or TOML) < ``KEEPER_*`` env < arguments.

The signer is the *alias* of an Ape account (``ape accounts list``), never a raw key: the
keeper asks Ape to unlock it when it has to sign. Without a signer the keeper runs in paper
mode: it validates, batches, routes and simulates, but never sends anything.

Nested groups are set from the environment with a double underscore, e.g.
``KEEPER_GAS__MAX_FEE_GWEI=80`` or ``KEEPER_RELAY__URLS='["http://127.0.0.1:8555"]'``.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
    YamlConfigSettingsSource,
)

from keeper.exceptions import ConfigError

CONFIG_ENV = "KEEPER_CONFIG"
_config_file: ContextVar[Path | None] = ContextVar("keeper_config_file", default=None)


def _checksum(value: str) -> str:
    from eth_utils import is_address, to_checksum_address

    if not is_address(value):
        raise ValueError(f"not an address: {value!r}")
    return str(to_checksum_address(value))


def _unquoted_hex(value: Any) -> Any:
    """YAML reads an unquoted ``0x…`` as a hexadecimal integer: that integer is the address
    (re-padded to 20 bytes), not "Input should be a valid string"."""
    if isinstance(value, int) and not isinstance(value, bool):
        if not 0 <= value < 2**160:
            raise ValueError(f"{hex(value)} is longer than an address; quote addresses in YAML")
        return "0x" + format(value, "040x")
    return value


Address = Annotated[str, BeforeValidator(_unquoted_hex), AfterValidator(_checksum)]


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class _Section(BaseModel):
    """A nested settings table: an unknown (e.g. misspelt) key is an error, not ignored."""

    model_config = ConfigDict(extra="forbid")


class ListenSettings(_Section):
    """A local HTTP listener. Loopback only unless ``public`` is set on purpose."""

    host: str = "127.0.0.1"
    port: int = Field(default=0, ge=0, le=65535)
    public: bool = False
    enabled: bool = True

    @model_validator(mode="after")
    def _loopback_unless_public(self) -> ListenSettings:
        if not self.public and not _is_loopback(self.host):
            raise ValueError(f"host {self.host} is not loopback; set public: true to allow it")
        return self


class IntakeSettings(ListenSettings):
    port: int = Field(default=8547, ge=0, le=65535)
    #: folder watched for ``*.json`` signed intents (moved to ``done/`` or ``rejected/``)
    drop_dir: Path | None = None


class MetricsSettings(ListenSettings):
    port: int = Field(default=9108, ge=0, le=65535)


class DashboardOwner(_Section):
    """A portfolio the dashboard shows: its owner, strategy file and control-state file."""

    owner: Address
    strategy: Path
    #: the strategy's control state (pause, targets, ...; ``keeper strategy`` uses the same)
    state: Path


class DashboardSettings(ListenSettings):
    """The dashboard (web pages + JSON API), served by ``keeper run`` and ``keeper dashboard``.
    Read-only unless a request carries its owner's EIP-712 signature (docs/DASHBOARD.md)."""

    port: int = Field(default=8550, ge=0, le=65535)
    owners: list[DashboardOwner] = Field(default_factory=list)
    #: where ``keeper report`` writes monthly reports (linked from the portfolio page)
    reports_dir: Path | None = None
    #: browser origins allowed to call the API (CORS); empty = none (same origin only)
    cors_origins: list[str] = Field(default_factory=list)
    #: how long a prepared control request stays valid (its signed deadline)
    control_ttl_s: int = Field(default=600, gt=0, le=86_400)


class GasPolicy(_Section):
    """maxFeePerGas = min(cap, base fee x headroom + tip); never above the cap."""

    priority_fee_gwei: Decimal = Field(default=Decimal(1), ge=0)
    max_fee_gwei: Decimal = Field(default=Decimal(100), gt=0)
    base_fee_headroom: Decimal = Field(default=Decimal(2), ge=1)
    #: gas limit = simulated gas used x (1 + margin): room for refunds (EIP-3529) and 63/64
    gas_limit_margin_bps: int = Field(default=5_000, ge=0, le=20_000)


class BuilderSettings(_Section):
    """One builder or relay endpoint and what it accepts (docs/RELAY.md, "Builders")."""

    name: str = Field(min_length=1)
    url: str = Field(min_length=1)
    #: takes BuilderNet's refund fields on eth_sendBundle (refundPercent, ...)
    refunds: bool = False
    #: takes eth_cancelBundle
    cancellation: bool = True
    #: answers buildernet_getFeeRefunds* (BuilderNet: relay.flashbots.net)
    refund_queries: bool = False
    #: request budget: this many requests per ``window_s`` and at most ``connections`` at once
    #: (BuilderNet documents 100 per 10 s and 3 connections); None: no limit
    requests: int | None = Field(default=None, ge=1)
    window_s: float = Field(default=10.0, gt=0)
    connections: int = Field(default=3, ge=1)


class RelaySettings(_Section):
    """Private submission only: with no relay URL a live keeper refuses to start."""

    urls: list[str] = Field(default_factory=list)
    #: builders with their capabilities and limits (sent to in addition to ``urls``)
    builders: list[BuilderSettings] = Field(default_factory=list)
    #: BuilderNet refundPercent asked on every bundle (1-99; None: none asked); refunds go to
    #: the keeper's account and are passed back to the users (see ``refunds``)
    refund_percent: int | None = Field(default=None, ge=1, le=99)
    delayed_refund: bool = False
    #: Ape account alias of the Flashbots reputation key (X-Flashbots-Signature);
    #: defaults to the keeper's signer.
    identity: str | None = None
    #: each bundle targets this many consecutive next blocks
    target_blocks: int = Field(default=3, ge=1, le=25)
    #: how many blocks deep a settlement's receipt must be before its intents are recorded
    #: settled (and the next batch claimed): 1 = the block after it; more rides out deeper
    #: reorgs at one batch per that many blocks (see docs/KEEPER.md, "Confirmations")
    confirmations: int = Field(default=1, ge=1, le=64)
    timeout_s: float = Field(default=5.0, gt=0)


class LimitSettings(_Section):
    """Sanity limits on what intake accepts and what one batch may hold."""

    max_legs_per_side: int = Field(default=8, ge=1)
    max_deadline_horizon_s: int = Field(default=30 * 24 * 3600, gt=0)
    min_time_to_deadline_s: int = Field(default=24, ge=0)
    max_orders_per_batch: int = Field(default=64, ge=1)
    max_attempts: int = Field(default=5, ge=1)
    #: extra margin kept on every user's limit when choosing execution amounts
    safety_margin_bps: int = Field(default=10, ge=0, le=5_000)
    #: cost gate: gas may cost at most this share of the batch's traded value
    max_gas_cost_bps: int = Field(default=100, ge=0, le=10_000)


class FeeSettings(_Section):
    """The keeper's fee: an intent that signs a ``maxFee`` in one of its sell tokens pays the
    gas of ``gas_per_order`` at the block's gas price (+ ``markup_bps``), capped at ``maxFee``."""

    #: ~ one intent's marginal gas in a batch (43-47k measured for a fee-paying leg, which is
    #: routed through the executor) plus a share of the batch's fixed cost; 0 = charge nothing
    gas_per_order: int = Field(default=60_000, ge=0)
    markup_bps: int = Field(default=0, ge=0, le=10_000)


class RefundSettings(_Section):
    """Passing builder refunds back to the users whose intents earned them."""

    #: take a user's accrued refunds off the keeper fee of their next intents
    credit_fees: bool = True
    #: pay a user's accrued refunds out (an ETH transfer in a later settlement's bundle) once
    #: they reach this much (wei); None: never pay out, credit fees only
    payout_threshold_wei: int | None = Field(default=10**16, ge=1)
    max_payouts_per_bundle: int = Field(default=4, ge=0, le=20)
    #: ask the relay for a landed bundle's refunds every this many blocks, for this many blocks
    poll_every_blocks: int = Field(default=10, ge=1)
    poll_window_blocks: int = Field(default=2_400, ge=1)


class BreakerSettings(_Section):
    """Failure budget: halt after this many harmful failures (a settlement reverted on-chain, a
    relay simulation that disagrees with the node, a cycle failed in the keeper's own code)
    within the window; or when the node or a relay has not answered for ``max_outage_s``
    (shorter outages are waited out with backoff, also at start-up)."""

    failure_budget: int = Field(default=5, ge=1)
    window_s: float = Field(default=300.0, gt=0)
    max_outage_s: float = Field(default=600.0, gt=0)


class KeeperSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="KEEPER_",
        env_nested_delimiter="__",
        extra="forbid",
        validate_default=True,
    )

    #: Ape network choice; ``rpc_url`` (if set) is passed to the provider as its host.
    network: str = "ethereum:local:foundry"
    rpc_url: str | None = None
    chain_id: int | None = Field(default=None, gt=0)
    executor: Address | None = None
    #: Ape account alias; ``None`` = paper mode (simulate, never send).
    signer: str | None = None
    #: paper mode: the allow-listed keeper address simulations run as (``msg.sender``)
    simulate_as: Address | None = None
    keeper_id: str = Field(default_factory=lambda: f"{socket.gethostname()}-{os.getpid()}")
    data_dir: Path = Path(".keeper")
    #: SQLAlchemy URL; default ``sqlite:///<data_dir>/intents.db``.
    store_url: str | None = None
    #: tokens accepted in intents; empty = every token the executor's market knows.
    supported_tokens: list[Address] = Field(default_factory=list)
    #: the token trades and gas are valued in for the cost gate (symbol or address of a token
    #: in the deployments market): every block, each token at its pool mid price in it
    usd_token: str = Field(default="USDC", min_length=1)
    poll_interval_s: float = Field(default=1.0, gt=0)
    #: seconds a claim on intents stays valid without renewal (crash recovery)
    lease_s: float = Field(default=120.0, gt=0)
    intake: IntakeSettings = Field(default_factory=IntakeSettings)
    metrics: MetricsSettings = Field(default_factory=MetricsSettings)
    dashboard: DashboardSettings = Field(default_factory=DashboardSettings)
    gas: GasPolicy = Field(default_factory=GasPolicy)
    relay: RelaySettings = Field(default_factory=RelaySettings)
    limits: LimitSettings = Field(default_factory=LimitSettings)
    fee: FeeSettings = Field(default_factory=FeeSettings)
    refunds: RefundSettings = Field(default_factory=RefundSettings)
    breaker: BreakerSettings = Field(default_factory=BreakerSettings)

    @property
    def paper_mode(self) -> bool:
        return self.signer is None

    @property
    def database_url(self) -> str:
        if self.store_url:
            return self.store_url
        return f"sqlite:///{(self.data_dir / 'intents.db').resolve()}"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        path = _config_file.get()
        if path is None:
            return (init_settings, env_settings)
        file_source: PydanticBaseSettingsSource
        if path.suffix in (".yaml", ".yml"):
            file_source = YamlConfigSettingsSource(settings_cls, yaml_file=path)
        else:
            file_source = TomlConfigSettingsSource(settings_cls, toml_file=path)
        return (init_settings, env_settings, file_source)


@contextmanager
def _reading(path: Path | None) -> Iterator[None]:
    token = _config_file.set(path)
    try:
        yield
    finally:
        _config_file.reset(token)


def load_settings(config_file: str | Path | None = None, **overrides: Any) -> KeeperSettings:
    """Settings from ``config_file`` (or ``$KEEPER_CONFIG``), the environment and overrides.

    Raises:
        ConfigError: naming the first offending key (dotted for nested groups).
    """
    raw = config_file if config_file is not None else os.environ.get(CONFIG_ENV)
    path = Path(raw) if raw else None
    if path is not None:
        if path.suffix not in (".yaml", ".yml", ".toml"):
            raise ConfigError(CONFIG_ENV, f"{path}: expected a .yaml, .yml or .toml file")
        if not path.is_file():
            raise ConfigError(CONFIG_ENV, f"{path}: no such file")
        _check_file(path)
    try:
        with _reading(path):
            return KeeperSettings(**overrides)
    except ValidationError as err:
        first = err.errors()[0]
        key = ".".join(str(part) for part in first["loc"]) or "<root>"
        raise ConfigError(key, first["msg"]) from None
    except yaml.YAMLError as err:
        raise ConfigError(CONFIG_ENV, f"{path}: not valid YAML: {_yaml_problem(err)}") from None
    except (ValueError, OSError) as err:  # unreadable TOML (TOMLDecodeError), or the file
        raise ConfigError(CONFIG_ENV, f"{path}: {err}") from None


def _check_file(path: Path) -> None:
    """Parse the config file once up front: a syntax error, or a top level that is not a table
    of settings, is named here (with the line) instead of failing deep inside the loader."""
    try:
        if path.suffix == ".toml":
            with path.open("rb") as handle:
                data: Any = tomllib.load(handle)
        else:
            data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        raise ConfigError(CONFIG_ENV, f"{path}: not valid YAML: {_yaml_problem(err)}") from None
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(CONFIG_ENV, f"{path}: not valid TOML: {err}") from None
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(CONFIG_ENV, f"{path}: cannot be read: {err}") from None
    if data is not None and not isinstance(data, dict):
        raise ConfigError(
            CONFIG_ENV,
            f"{path}: expected a table of settings at the top, got {type(data).__name__}",
        )


def _yaml_problem(err: yaml.YAMLError) -> str:
    """One line: what the parser expected and where (1-based line and column)."""
    if isinstance(err, yaml.MarkedYAMLError) and err.problem_mark is not None:
        mark = err.problem_mark
        return f"{err.problem} (line {mark.line + 1}, column {mark.column + 1})"
    return str(err).splitlines()[0]
