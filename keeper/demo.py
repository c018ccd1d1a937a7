"""``make demo``: the main job end to end on an embedded local chain.

Everything started here is stopped on exit, also on Ctrl-C, SIGTERM or failure.
"""

from __future__ import annotations

import signal
import sys
import time
from types import FrameType

from keeper.chain.anvil import AnvilProcess


def _raise_on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


def main() -> int:
    signal.signal(signal.SIGTERM, _raise_on_sigterm)
    import ape  # heavy; imported only when the demo runs

    started = time.perf_counter()
    with (
        AnvilProcess() as node,
        ape.networks.parse_network_choice(
            "ethereum:local:foundry", provider_settings={"host": node.url}
        ) as provider,
    ):
        print(f"anvil {provider.web3.client_version} at {node.url} (pid {node.pid})")
        deployer = ape.accounts.test_accounts[0]
        greeter = deployer.deploy(ape.project.Greeter, "hello from the rebalancer")
        print(f"deployed Greeter at {greeter.address}: greeting() = {greeter.greeting()!r}")
    print(f"demo finished in {time.perf_counter() - started:.1f}s; anvil stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
