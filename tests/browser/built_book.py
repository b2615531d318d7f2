"""Where the built book is, and what it should contain: shared by the browser tests."""
from __future__ import annotations

import os
import pathlib
import re

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent.parent


def book_html() -> pathlib.Path:
    return pathlib.Path(os.environ.get("WINIT_BOOK_HTML") or ROOT / "_build" / "html").resolve()


def html_pages() -> list[pathlib.Path]:
    """Every page of the built book, relative to its root; not the theme's files."""
    root = book_html()
    if not root.is_dir():
        return []
    return sorted(p.relative_to(root) for p in root.rglob("*.html") if p.relative_to(root).parts[0] != "_static")


def toc_entries() -> list[str]:
    """The documents of _toc.yml, in order: ``book/intro``, ``book/01_...``."""
    text = (ROOT / "_toc.yml").read_text(encoding="utf8")
    return re.findall(r"(?:file|root):\s*(\S+)", text)
