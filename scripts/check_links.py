"""Check the links of the built HTML book, offline.

Usage (from the repository root, after building the book)::

    python scripts/check_links.py                 # checks _build/html
    python scripts/check_links.py path/to/html

For every HTML page of the build it checks

* every internal link and resource (``href``, ``src``, ``srcset`` of ``a``,
  ``link``, ``img``, ``script``, ``source``, ``iframe``, ...): the file it
  points to exists, and its ``#anchor``, if any, is an ``id`` (or ``name``)
  in that file;
* that nothing the browser loads by itself (scripts, stylesheets, images,
  frames, media, preloads) comes from outside the book: only links a reader
  clicks may leave it;

and, in the book's own stylesheets, that every ``url(...)`` points to a file
that exists. External links (``https://...``, ``mailto:``) are counted, not
fetched: there is no network. Exits 1 if anything is broken.
"""
from __future__ import annotations

import argparse
import collections
import posixpath
import re
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

ROOT = Path(__file__).resolve().parent.parent
URL_ATTRS = {"href", "src", "srcset", "poster", "data"}
#: Elements whose URL the browser loads without a click (for <link>, see LOADING_RELS).
AUTO_LOADED = {"script", "img", "iframe", "source", "video", "audio", "embed", "object", "track", "input"}
LOADING_RELS = {"stylesheet", "preload", "modulepreload", "prefetch", "icon", "shortcut", "apple-touch-icon", "manifest"}
CSS_URL = re.compile(r"""url\(\s*(['"]?)([^'")]+)\1\s*\)""")


class Page(HTMLParser):
    """The ids of one HTML file and the URLs it refers to."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.ids: set[str] = set()
        self.urls: list[tuple[str, str, str, bool]] = []  # (tag, attribute, url, loaded by itself)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for key in ("id", "name") if tag in ("a", "map") else ("id",):
            if attrs.get(key):
                self.ids.add(attrs[key])
        rels = set((attrs.get("rel") or "").lower().split())
        automatic = tag in AUTO_LOADED or (tag == "link" and bool(rels & LOADING_RELS))
        if tag == "meta" and (attrs.get("http-equiv") or "").lower() == "refresh":
            match = re.search(r"url=(.+)", attrs.get("content") or "", re.I)
            if match:
                self.urls.append((tag, "refresh", match.group(1).strip(" '\""), True))
        for name in URL_ATTRS & attrs.keys():
            value = attrs[name] or ""
            if tag == "script" and name == "data":
                continue
            if name == "srcset":
                for part in value.split(","):
                    if part.strip():
                        self.urls.append((tag, name, part.split()[0], automatic))
            else:
                self.urls.append((tag, name, value.strip(), automatic))

    handle_startendtag = handle_starttag


def is_external(url: str) -> bool:
    return bool(urlsplit(url).scheme) or url.startswith("//")


def check(html_root: Path) -> int:
    html_root = html_root.resolve()
    # the theme's Jinja macros land in _static/ as .html files; they are not pages
    pages = sorted(p for p in html_root.rglob("*.html") if p.relative_to(html_root).parts[0] != "_static")
    if not pages:
        print(f"no HTML pages under {html_root}: build the book first (jupyter-book build .)")
        return 1
    parsed: dict[Path, Page] = {}

    def parse(path: Path) -> Page:
        if path not in parsed:
            page = Page()
            page.feed(path.read_text(encoding="utf8", errors="replace"))
            parsed[path] = page
        return parsed[path]

    broken: list[str] = []
    counts = collections.Counter()
    for path in pages:
        page = parse(path)
        where = path.relative_to(html_root).as_posix()
        for tag, attr, url, automatic in page.urls:
            if not url or url.startswith(("javascript:", "data:", "blob:", "about:")):
                continue
            if is_external(url):
                if automatic:
                    broken.append(f"{where}: <{tag} {attr}> loads {url} from outside the book")
                counts["external links (not fetched)"] += 1
                continue
            parts = urlsplit(url)
            if parts.path:
                target = (path.parent / unquote(parts.path)).resolve()
                if target.is_dir():
                    target = target / "index.html"
            else:
                target = path
            try:
                target.relative_to(html_root)
            except ValueError:
                broken.append(f"{where}: {url} points outside the book ({target})")
                continue
            if not target.is_file():
                broken.append(f"{where}: {url} -> missing file {target.relative_to(html_root).as_posix()}")
                continue
            counts["internal links and resources"] += 1
            anchor = unquote(parts.fragment)
            if anchor and target.suffix == ".html":
                counts["anchors"] += 1
                if anchor not in parse(target).ids:
                    broken.append(f"{where}: {url} -> no id {anchor!r} in {target.relative_to(html_root).as_posix()}")

    for css in sorted(html_root.glob("_static/**/*.css")):
        if "offline" in css.relative_to(html_root).parts:
            continue  # third-party bundles, loaded and checked in the browser test
        for _, url in CSS_URL.findall(css.read_text(encoding="utf8", errors="replace")):
            if url.startswith(("data:", "#")):
                continue
            where = css.relative_to(html_root).as_posix()
            if is_external(url):
                broken.append(f"{where}: url({url}) loads from outside the book")
                continue
            target = (css.parent / unquote(urlsplit(url).path)).resolve()
            counts["stylesheet urls"] += 1
            if not target.is_file():
                broken.append(f"{where}: url({url}) -> missing file")

    summary = ", ".join(f"{n} {what}" for what, n in sorted(counts.items()))
    print(f"checked {len(pages)} pages: {summary}")
    for line in broken:
        print("BROKEN", line)
    print(f"{len(broken)} broken" if broken else "no broken links")
    return 1 if broken else 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("html", nargs="?", type=Path, default=ROOT / "_build" / "html", help="the built HTML directory")
    args = parser.parse_args(argv)
    return check(args.html)


if __name__ == "__main__":
    sys.exit(main())
