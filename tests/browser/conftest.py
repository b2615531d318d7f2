"""Fixtures for the browser test of the built HTML book.

These tests need a built book and a Chromium, so a plain ``pytest`` (the
README's test command) never collects them: they run only when this
directory, or a file in it, is named on the command line::

    jupyter-book build .                     # or any build, see WINIT_BOOK_HTML
    pip install -r tests/browser/requirements.txt
    npm ci                                   # axe-core, for the accessibility check
    python -m pytest tests/browser

Environment:

``WINIT_BOOK_HTML``
    the built HTML directory (default ``_build/html`` in the repository).
``WINIT_SCREENSHOTS``
    where screenshots go (default ``screenshots/`` beside that directory,
    i.e. ``_build/screenshots``).
``CHROMIUM``
    the browser executable (default: the first of ``chromium``,
    ``chromium-browser``, ``google-chrome``, ``google-chrome-stable`` on
    ``PATH``).
"""
from __future__ import annotations

import json
import os
import pathlib
import shutil

import pytest

from built_book import HERE, ROOT, book_html

# Flags for a headless Chromium running as root in CI with no network:
# no sandbox (root), no GPU, and none of the background traffic a fresh
# profile starts (update checks, sync, QUIC probes). Playwright adds
# --headless and a fresh --user-data-dir of its own.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
]
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def pytest_ignore_collect(collection_path, config):
    """Collect this directory only when it is named on the command line."""
    if config.args_source is not pytest.Config.ArgsSource.ARGS:
        return True
    for arg in config.args:
        path = pathlib.Path(config.invocation_params.dir, arg.split("::")[0]).resolve()
        if path == HERE or HERE in path.parents:
            return None
    return True


@pytest.fixture(scope="session")
def html_root() -> pathlib.Path:
    root = book_html()
    if not (root / "index.html").is_file():
        pytest.fail(f"no built book in {root}: run `jupyter-book build .` first, or set WINIT_BOOK_HTML")
    return root


@pytest.fixture(scope="session")
def axe_script() -> pathlib.Path:
    """axe-core's browser bundle, as ``npm ci`` installs it: the version package.json pins."""
    package = ROOT / "node_modules" / "axe-core"
    script = package / "axe.min.js"
    pinned = json.loads((ROOT / "package.json").read_text(encoding="utf8"))["devDependencies"]["axe-core"]
    if not script.is_file():
        pytest.fail(f"axe-core is not installed: run `npm ci` in {ROOT}")
    installed = json.loads((package / "package.json").read_text(encoding="utf8"))["version"]
    if installed != pinned:
        pytest.fail(f"axe-core {installed} is installed but package.json pins {pinned}: run `npm ci`")
    return script


@pytest.fixture(scope="session")
def screenshot_dir(html_root) -> pathlib.Path:
    path = pathlib.Path(os.environ.get("WINIT_SCREENSHOTS") or html_root.parent / "screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path


def _chromium() -> str:
    named = os.environ.get("CHROMIUM")
    if named:
        return shutil.which(named) or named
    for name in BROWSERS:
        found = shutil.which(name)
        if found:
            return found
    pytest.fail("no Chromium found: `apt-get install chromium` (Debian) or set CHROMIUM to a Chromium or Chrome")


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=_chromium(), args=CHROMIUM_ARGS)
        yield browser
        browser.close()
