"""Browser tests: a real headless Chromium (Debian's ``chromium``, driven by Playwright)
against a running ``keeper run`` with its dashboard on the local market."""

from __future__ import annotations

import pytest

from keeper.dashboard.browser import chromium_path, launch


@pytest.fixture(scope="module")
def scenario(tmp_path_factory):
    from keeper.devstack.dashboard_demo import dashboard_scenario

    with dashboard_scenario(tmp_path_factory.mktemp("dashboard")) as s:
        yield s


@pytest.fixture(scope="session")
def browser():
    if chromium_path() is None:
        pytest.skip(
            "chromium is not installed and could not be (make test installs the Debian "
            "package `chromium` when apt-get works; or set CHROMIUM=/path/to/chromium)"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = launch(p)
        yield b
        b.close()
