"""Headless Chromium for the explorer's tests and its README screenshot.

The browser is Debian's ``chromium`` (installed by ``make setup``), driven by Playwright's
Python API with ``executable_path``: Playwright's own browser download is never used. Each
session gets a fresh profile directory and runs with no network besides the page's own node.
Every JavaScript error and every console error (a CSP violation is one) is recorded, so a test
can require none.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from dataclasses import field
from http import HTTPStatus
from pathlib import Path

from playwright.sync_api import ConsoleMessage
from playwright.sync_api import Dialog
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page
from playwright.sync_api import Response
from playwright.sync_api import sync_playwright

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
# No GPU, no QUIC, no background traffic (updates, sync, first-run pings): the page's node is
# the only thing the browser talks to. --no-sandbox: CI runs as root, where the sandbox refuses.
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
VIEWPORT = {"width": 1280, "height": 900}
ACTION_TIMEOUT_MS = 20_000


@dataclass
class Errors:
    """What went wrong inside the page: uncaught exceptions and console errors."""

    messages: list[str] = field(default_factory=list)

    def page_error(self, error: PlaywrightError) -> None:
        self.messages.append(f"pageerror: {error.message}")

    def dialog(self, dialog: Dialog) -> None:
        # alert() from injected markup would be the proof of an XSS: record it, never wait on it
        self.messages.append(f"dialog: {dialog.message}")
        dialog.dismiss()

    def console(self, message: ConsoleMessage) -> None:
        # Chromium logs every 4xx fetch as "Failed to load resource"; the page handles those
        # itself (a subscription the node has not synced yet is a 404), so `response` below
        # counts only server errors. A CSP violation or a script's console.error still counts.
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            self.messages.append(f"console.error: {message.text}")

    def response(self, response: Response) -> None:
        if response.status >= HTTPStatus.INTERNAL_SERVER_ERROR:
            self.messages.append(f"HTTP {response.status}: {response.url}")


def chromium_available() -> bool:
    return shutil.which(CHROMIUM) is not None


@contextmanager
def browser_page() -> Iterator[tuple[Page, Errors]]:
    """One page in a fresh headless Chromium profile; the browser is closed on the way out."""
    errors = Errors()
    profile = tempfile.mkdtemp(prefix="explorer-chromium-")
    try:
        with sync_playwright() as playwright:
            context = playwright.chromium.launch_persistent_context(
                profile,
                executable_path=CHROMIUM,
                headless=True,
                args=list(CHROMIUM_FLAGS),
                viewport=VIEWPORT,  # type: ignore[arg-type]
            )
            try:
                context.set_default_timeout(ACTION_TIMEOUT_MS)
                page = context.pages[0] if context.pages else context.new_page()
                page.on("pageerror", errors.page_error)
                page.on("console", errors.console)
                page.on("dialog", errors.dialog)
                page.on("response", errors.response)
                yield page, errors
            finally:
                context.close()
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def screenshot(page: Page, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path), full_page=True)
    return path
