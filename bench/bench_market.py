"""Local market figures: seeding a chain from scratch vs starting a test session from the saved
state (upstream anvil loading the state + Ape connecting an anvil fork of it)."""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _fork_session_start() -> tuple[float, float, float]:
    """(state lookup, upstream start, Ape fork connect) in seconds."""
    import ape

    from keeper.market.fork import FORK_NETWORK, ForkUpstream
    from keeper.market.state import state_file

    started = time.perf_counter()
    state_file()
    looked_up = time.perf_counter()
    with ForkUpstream():
        upstream_up = time.perf_counter()
        with ape.networks.parse_network_choice(FORK_NETWORK) as provider:
            provider.web3.eth.get_code("0x1F98431c8aD98523631AE4a59f267346ea31F984")
            connected = time.perf_counter()
    return looked_up - started, upstream_up - looked_up, connected - upstream_up


def _local_connect() -> float:
    import ape

    started = time.perf_counter()
    with ape.networks.parse_network_choice("ethereum:local:foundry") as provider:
        provider.web3.eth.block_number  # noqa: B018
        return time.perf_counter() - started


def run() -> None:
    from keeper.market.state import generate_state, state_file

    state_file()  # make sure the saved state exists before timing the warm path
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        generate_state(Path(tmp) / "state.json")
        seeding = time.perf_counter() - started
    samples = [_fork_session_start() for _ in range(3)]
    lookup, upstream, connect = (statistics.median(s[i] for s in samples) for i in range(3))
    warm = lookup + upstream + connect
    local = statistics.median(_local_connect() for _ in range(3))
    print(f"seed a fresh chain (deploy + 24 pools + dump state): {seeding:.2f} s")
    print(f"fork session start from the saved state: {warm:.2f} s (median of 3)")
    print(f"  state lookup (fingerprint) {lookup:.2f} s, upstream load-state {upstream:.2f} s,")
    print(f"  Ape connects the anvil fork {connect:.2f} s")
    print(f"plain local anvil connect (no market), for comparison: {local:.2f} s")
    print(f"saved state vs seeding per session: {seeding / warm:.1f}x faster")

    # End to end, as a developer sees it: a pytest session running one test, on the fork
    # (upstream + fork) and on a plain local anvil; the difference is what the market costs.
    fork_test = "tests/integration/test_market_layout.py::test_every_pool_is_where_its_factory_says"
    plain_test = "tests/integration/test_deployments.py::test_a_deployments_file_round_trips"
    fork_wall = _pytest_wall([fork_test])
    local_wall = _pytest_wall(["--network", "ethereum:local:foundry", plain_test])
    print(f"pytest session, one fork test, wall clock: {fork_wall:.2f} s")
    print(f"pytest session, one test on a plain local anvil: {local_wall:.2f} s")
    print(f"  the seeded market adds {fork_wall - local_wall:.2f} s to a session")


def _pytest_wall(args: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "pytest", "-q", *args], cwd=ROOT, check=True, capture_output=True
    )
    return time.perf_counter() - started
