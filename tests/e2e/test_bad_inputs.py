"""Every bad input and outage a person meets on the CLI: exit code not 0, one line on stderr
naming the input and what was expected, never a traceback."""

from __future__ import annotations

import json

import pytest

pytestmark = [pytest.mark.slow]

ALICE = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"
DOWN = "http://127.0.0.1:9"  # discard port: nothing listens


def _port(url: str) -> str:
    return url.rsplit(":", 1)[1]


def _sign(info: dict, *legs: str) -> list[str]:
    return ["intent", "sign", "--account", "TEST::2", "--rpc-url", info["rpc"],
            "--deployments", info["deployments"], "--yes", *legs]  # fmt: skip


def _show(info: dict, rpc: str, owner: str = ALICE) -> list[str]:
    return ["portfolio", "show", "--strategy", info["strategy"], "--owner", owner, "--rpc", rpc,
            "--deployments", info["deployments"]]  # fmt: skip


#: (case, arguments from the dev stack's info, what the one line must say)
CASES = [
    (
        "unreachable rpc",
        lambda i: _show(i, DOWN),
        f"--rpc '{DOWN}': no Ethereum JSON-RPC node answers there",
    ),
    (
        "keeper url where a node url was expected",
        lambda i: _show(i, i["intake"]),
        "but not as an Ethereum node (eth_chainId); expected a node URL",
    ),
    (
        "relay url where a node url was expected",
        lambda i: _show(i, i["public_relay"]),
        "this is a bundle relay (it answers eth_callBundle, not eth_chainId); expected an "
        "Ethereum node URL",
    ),
    (
        "relay url as the keeper's node",
        lambda i: ["run", "--rpc-url", i["public_relay"], "--deployments", i["deployments"]],
        # at once, not after waiting out an "outage" that waiting cannot end
        "is a bundle relay (it answers eth_callBundle, not eth_chainId); expected an Ethereum "
        "node URL (the relay's URL goes in relay.urls)",
    ),
    (
        "not a url",
        lambda i: _show(i, "127.0.0.1:8545"),
        "--rpc '127.0.0.1:8545': expected an http(s):// URL",
    ),
    (
        "malformed owner address",
        lambda i: _show(i, i["rpc"], "0x1234"),
        "--owner '0x1234': expected a 0x address of 40 hex digits",
    ),
    (
        "unknown intent state",
        lambda i: ["intent", "list", "--state", "bogus", "--url", i["intake"]],
        "Invalid value for '--state': 'bogus' is not one of 'accepted'",
    ),
    (
        "keeper down on list",
        lambda i: ["intent", "list", "--url", DOWN],
        f"--url '{DOWN}': no keeper answers there",
    ),
    (
        "keeper down on submit",
        lambda i: ["intent", "submit", "signed.json", "--url", DOWN],
        f"--url {DOWN}: no keeper answers there",
    ),
    (
        "more decimals than the token has",
        lambda i: _sign(i, "--sell", "USDC:1.0000001", "--buy", "WETH:0.1"),
        "--sell 'USDC:1.0000001': USDC has 6 decimals; 7 given (would be truncated)",
    ),
    (
        "ttl of zero",
        lambda i: [*_sign(i, "--sell", "WETH:1", "--buy", "USDC:1"), "--ttl", "0"],
        "--ttl '0': expected a positive number of seconds",
    ),
    (
        "ttl below two blocks",
        lambda i: [*_sign(i, "--sell", "WETH:1", "--buy", "USDC:1"), "--ttl", "5"],
        "--ttl '5': at least 24 s",
    ),
    (
        "same token on both sides",
        lambda i: _sign(i, "--sell", "WETH:1", "--buy", "weth:1"),
        "--buy 'WETH': this token is also sold",
    ),
    (
        "unknown token symbol",
        lambda i: _sign(i, "--sell", "LINK:1", "--buy", "USDC:1"),
        "--sell 'LINK': token 'LINK' is not in the market",
    ),
    (
        "more than the owner holds, at intake",
        lambda i: ["intent", "submit", "big.json", "--url", i["intake"]],
        "intent.sells.0.amount: 100,000.0 WETH exceeds the owner's balance of ",
    ),
    (
        "signed file given as a proposal",
        lambda i: [*_sign(i), "--from", "signed.json"],
        "this is a signed intent; submit it with 'keeper intent submit'",
    ),
    (
        "exit into a token the market lacks",
        lambda i: [
            "strategy",
            "exit",
            "--strategy",
            i["strategy"],
            "--owner",
            ALICE,
            "--to",
            "LINK",
            "--rpc",
            i["rpc"],
            "--deployments",
            i["deployments"],
        ],
        "--to 'LINK': not a token of this market",
    ),
    (
        "wallet signature of another document",
        lambda i: [
            "intent",
            "submit",
            "--typed-data",
            "typed.json",
            "--signature",
            "0x" + "11" * 65,
            "--url",
            i["intake"],
        ],
        "--signature: ",
    ),
    (
        "port already taken",
        lambda i: ["dev", "up", "--rpc-port", _port(i["rpc"])],
        f"--rpc-port {_port('x:0')}",
    ),
]


@pytest.fixture(scope="module")
def public_relay():
    """A relay that answers as relay.flashbots.net does: bundle methods only, no chain reads
    (the dev stack's relay also serves reads, as a node beside a builder would)."""
    from keeper.chain.anvil import AnvilProcess
    from keeper.relay.server import LocalRelay

    with AnvilProcess(args=["--order", "fifo"]) as anvil:
        relay = LocalRelay(anvil.url, forward_reads=False).start()
        try:
            yield relay.url
        finally:
            relay.stop()


@pytest.fixture(scope="module")
def files(dev_shell, public_relay):
    """A signed intent and a typed-data file in the working directory, for the rows above."""
    shell, info = dev_shell
    info = {**info, "public_relay": public_relay}
    shell.run(*_sign(info, "--sell", "WETH:0.01", "--buy", "USDC:1"), "--out", "signed.json")
    shell.run(*_sign(info, "--sell", "WETH:100000", "--buy", "USDC:1"), "--out", "big.json")
    proposal = {"chainId": 1, "intents": [json.loads((shell.cwd / "signed.json").read_text())
                                          ["intent"]]}  # fmt: skip
    (shell.cwd / "proposal.json").write_text(json.dumps(proposal))
    shell.run("intent", "typed-data", "--from", "proposal.json", "--out", "typed.json")
    return shell, info


@pytest.mark.parametrize(("case", "args", "expected"), CASES, ids=[c[0] for c in CASES])
def test_a_bad_input_is_one_line_naming_it_without_a_traceback(files, case, args, expected):
    shell, info = files
    argv = args(info)
    result = shell.run(*argv, check=False, timeout=120)
    assert result.returncode != 0, f"{case}: exited 0\n{result.stdout}"
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, f"{case}: {result.stderr}"
    if case == "port already taken":
        expected = f"--rpc-port {argv[-1]}: port already taken"
    assert expected in lines[0], f"{case}: {lines[0]}"
    # submit answers per file (several may be given): "<file>: rejected: <field>: <problem>"
    prefix = "big.json: rejected: " if argv[:3] == ["intent", "submit", "big.json"] else "error: "
    assert lines[0].startswith(prefix), lines[0]
