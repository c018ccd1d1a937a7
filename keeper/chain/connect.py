"""Connecting to a node a person named on the command line, with errors that say which input
was wrong and what was expected (never a traceback from deep inside web3 or requests)."""

from __future__ import annotations

from typing import Any

from eth_utils import is_hex_address, to_checksum_address

from keeper.exceptions import KeeperError


class InputError(KeeperError):
    """A command-line input is wrong; names the option, the value and what was expected."""

    def __init__(self, option: str, value: str, expected: str) -> None:
        self.option, self.value, self.expected = option, value, expected
        super().__init__(f"{option} {value!r}: {expected}")


def connect(url: str, option: str = "--rpc-url", timeout: float = 30) -> Any:
    """A ``Web3`` on ``url`` once it answered ``eth_chainId`` as an Ethereum node does."""
    import requests
    from web3 import HTTPProvider, Web3

    if not url.startswith(("http://", "https://")):
        raise InputError(option, url, "expected an http(s):// URL of an Ethereum JSON-RPC node")
    try:
        answer = requests.post(
            url, json={"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []}, timeout=5
        )
    except requests.RequestException as err:
        reason = type(err).__name__.replace("Error", " error").lower()
        raise InputError(
            option, url, f"no Ethereum JSON-RPC node answers there ({reason}); is the node up?"
        ) from None
    try:
        body = answer.json()
        int(body["result"], 16)
    except (ValueError, KeyError, TypeError):
        if is_bundle_relay(url):
            raise InputError(
                option,
                url,
                "this is a bundle relay (it answers eth_callBundle, not eth_chainId); expected "
                "an Ethereum node URL (a relay's URL goes in the keeper's relay.urls)",
            ) from None
        raise InputError(
            option,
            url,
            f"answered HTTP {answer.status_code} but not as an Ethereum node (eth_chainId); "
            "expected a node URL, not a relay's or a keeper's",
        ) from None
    return Web3(HTTPProvider(url, request_kwargs={"timeout": timeout}))


def is_bundle_relay(url: str) -> bool:
    """Whether ``url`` speaks the Flashbots protocol: an unsigned ``eth_callBundle`` is refused
    for its missing ``X-Flashbots-Signature`` (HTTP 403 or an error naming the signature), where
    a node says the method does not exist."""
    import requests

    probe = {"jsonrpc": "2.0", "id": 1, "method": "eth_callBundle", "params": [{}]}
    try:
        answer = requests.post(url, json=probe, timeout=5)
        text = answer.text.lower()
    except requests.RequestException:
        return False
    return answer.status_code in (401, 403) or "signature" in text


def parse_address(option: str, value: str) -> str:
    """``value`` as a checksummed address, or an :class:`InputError` naming ``option``."""
    if not isinstance(value, str) or not is_hex_address(value):
        raise InputError(option, str(value), "expected a 0x address of 40 hex digits")
    return str(to_checksum_address(value))


class PortTakenError(KeeperError):
    """A port a command would listen on is in use; names the port and the setting."""

    def __init__(self, port: int, setting: str) -> None:
        self.port, self.setting = port, setting
        super().__init__(
            f"{setting} {port}: port already taken on 127.0.0.1 (another anvil, relay or "
            f"keeper?); stop it or choose another port with {setting}"
        )


def check_port(port: int, setting: str, host: str = "127.0.0.1") -> None:
    """Refuse, in one line naming ``setting``, a port something already listens on (0: any)."""
    import socket

    if port == 0:
        return
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            raise PortTakenError(port, setting) from None
