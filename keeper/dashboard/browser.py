"""Headless Chromium for the browser tests and ``make screenshots``: the Debian ``chromium``
package driven by Playwright (never ``playwright install``: no browser download)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

#: flags for a quiet, offline, sandbox-less (root in CI) headless browser
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str | None:
    """``$CHROMIUM`` or the first ``chromium`` / ``chromium-browser`` on PATH (Debian's)."""
    explicit = os.environ.get("CHROMIUM")
    if explicit and Path(explicit).is_file():
        return explicit
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return None


def launch(playwright: Any) -> Any:
    path = chromium_path()
    if path is None:
        raise FileNotFoundError("chromium: not installed (apt-get install chromium)")
    return playwright.chromium.launch(executable_path=path, args=CHROMIUM_ARGS, headless=True)


def page_errors(page: Any) -> list[str]:
    """Collects console errors and uncaught page errors of ``page`` into the returned list."""
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    return errors


def capture(browser: Any, pages: dict[str, str], out_dir: Path, width: int = 1360) -> list[Path]:
    """Full-page PNGs of ``pages`` (name -> URL) as ``out_dir/dashboard-<name>.png``, with a
    launched ``browser`` (:func:`launch`).

    Raises RuntimeError naming the page when one logs a console error or answers an error."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    context = browser.new_context(viewport={"width": width, "height": 900})
    try:
        for name, url in pages.items():
            page = context.new_page()
            errors = page_errors(page)
            answer = page.goto(url, wait_until="networkidle")
            if answer is None or not answer.ok:
                status = answer.status if answer is not None else "no answer"
                raise RuntimeError(f"{name}: {url} answered {status}")
            if errors:
                raise RuntimeError(f"{name}: console errors: {errors}")
            path = out_dir / f"dashboard-{name}.png"
            page.screenshot(path=str(path), full_page=True)
            written.append(path)
            page.close()
    finally:
        context.close()
    return written
