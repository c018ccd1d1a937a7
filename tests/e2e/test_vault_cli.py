"""`keeper vault approve|permit|status|lockdown` against `keeper dev up`, in whole tokens, by a
fresh account (TEST::4: no allowances yet)."""

from __future__ import annotations

import json

import pytest

pytestmark = [pytest.mark.slow]

ACCOUNT = "TEST::4"
ADDRESS = "0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65"


def test_a_user_approves_inspects_signs_a_permit_and_locks_down_from_the_command_line(dev_shell):
    shell, info = dev_shell
    chain = ["--rpc-url", info["rpc"], "--deployments", info["deployments"]]

    def status() -> str:
        line = [
            row
            for row in shell.run("vault", "status", ADDRESS, *chain).stdout.splitlines()
            if row.strip().startswith("WETH ")
        ]
        return line[0]

    assert "vault allowance 0.0 WETH never set" in status()
    out = shell.run("vault", "approve", "WETH", "1.5", "--expires", "1d", "--account", ACCOUNT,
                    *chain).stdout  # fmt: skip
    assert "WETH.approve(vault, 1.5 WETH)" in out and "vault allowance 1.5 WETH until " in out
    assert "ERC-20 approval 1.5 WETH, vault allowance 1.5 WETH until " in status()

    refused = shell.run("vault", "approve", "USDC", "1.0000001", "--account", ACCOUNT, *chain,
                        check=False)  # fmt: skip
    assert refused.returncode == 1
    assert refused.stderr == (
        "error: AMOUNT '1.0000001': USDC has 6 decimals; 7 given (would be truncated)\n"
    )

    signed = shell.run("vault", "permit", "USDC", "250", "--expires", "30d", "--account",
                       ACCOUNT, *chain)  # fmt: skip
    body = json.loads(signed.stdout)
    assert body["permit"]["amount"] == str(250 * 10**6) and body["permit"]["owner"] == ADDRESS
    assert len(bytes.fromhex(body["signature"][2:])) == 65
    assert "permit: 250.0 USDC until " in signed.stderr

    alice = shell.run("vault", "status", info["users"]["alice"]["address"], *chain).stdout
    assert "vault allowance unlimited until after the year 9999" in alice  # dev up: 2**40 s

    out = shell.run("vault", "lockdown", "WETH", "--account", ACCOUNT, *chain).stdout
    assert out.startswith("locked down WETH: 0x")
    assert "vault allowance 0.0 WETH" in status()
