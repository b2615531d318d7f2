"""The book's own Sphinx extension: an HTML book that needs no network.

Loaded from ``_config.yml`` (``sphinx: local_extensions: book_html: _ext``).

**MathJax and widgets served by the book itself.** Jupyter Book loads
MathJax and the ipywidgets HTML manager from public CDNs, so a book opened
with no network shows raw ``$$`` and empty widgets. This extension takes both
from the npm packages that ``npm ci`` installs into ``node_modules/``
(versions pinned in ``package.json`` and ``package-lock.json``):

* it points Sphinx's ``mathjax_path`` and myst-nb's ``nb_ipywidgets_js`` at
  copies under ``_static/offline/`` of the built HTML, so a page loads one
  MathJax file and, only if it has widgets, one widget-manager file; MathJax
  fetches its fonts and rarely used TeX extensions itself, on demand, from
  beside its entry file;
* when the HTML build finishes, it copies just the files those two need into
  ``_static/offline/``. Nothing third-party is committed to the repository,
  and nothing goes through ``html_static_path`` or ``html_js_files``.

The widget manager is ``embed.js``, the self-contained build of
``@jupyter-widgets/html-manager`` that renders the standard ipywidgets
controls without RequireJS and never contacts a CDN (the AMD build that
myst-nb uses by default fetches any widget module it lacks from jsDelivr).

If ``node_modules/`` is missing or holds other versions than ``package.json``
pins, the build warns (an error under ``-W``, so CI fails) and falls back to
the CDNs, so ``jupyter-book build .`` still works on a machine without
Node.js. ``WINIT_BOOK_ASSETS=cdn`` asks for the CDN build on purpose, with no
warning.

**Top-level names in cross-references.** The API reference documents each
function where it is defined (``winit_edu.init.scaling.he_normal``), but
readers and docstrings call it by its re-exported name
(``winit_edu.he_normal``, ``winit_edu.MLP.trace``) or by the flat module
path it had before the package was grouped by layer
(``winit_edu.scaling.he_normal``, ``winit_edu.network``,
``winit_edu.theory.propagate_second_moment``), which still imports the same
module. A Python cross-reference to a ``winit_edu.<name>`` that does not
resolve is retried with the name's defining module, so every spelling links
to the same entry; anything else that does not resolve still fails the
strict build. And a public module or subpackage of ``winit_edu`` that the API
reference (``book/api.md``) leaves out is a warning, so a new module cannot go
undocumented.

**Author-year bibliography.** The text cites author-year ("Glorot and
Bengio (2010)"); the pybtex style ``authoryear`` registered here labels the
bibliography the same way ("[Glorot and Bengio, 2010]") instead of with
alphabetic keys ("[GB10]"), sorted by author, then year.
``_config.yml`` selects it with ``bibtex_default_style: authoryear``.

**Accessibility: WCAG 2.1 AA**, checked on every page, light and dark, by
axe-core in ``tests/browser``:

* ``book.css`` darkens the theme's link colour in the light theme and
  lightens it in the dark one, so links keep a 4.5:1 contrast on code blocks
  and tinted boxes too; ``_config.yml`` picks the theme's WCAG-AA code
  highlighting (``a11y-high-contrast-light``) instead of ``tango``.
* ``templates/`` overrides two of pydata-sphinx-theme's components whose
  accessible name leaves out text they show (WCAG 2.5.3, label in name): the
  search button (its "Ctrl+K" hint) and the colour-mode switcher (its icons'
  titles), which is now named by the current mode.
* ``scroll-tabstops.js`` (in ``_ext/static/``, on every page): a wide code
  block inside a box that starts collapsed (an exercise's solution) gets its
  keyboard tab stop when the box opens; the theme looks only at load time.
* ``widgets-a11y.js`` (in ``_ext/static/``, before the widget manager on
  pages with widgets) names each widget control by its label, and lets a
  slider announce what its readout shows instead of the option's index.
* Bibliography entries: docutils marks them up as ``role="doc-biblioentry"``
  inside a ``role="list"``; that role is deprecated, and a list whose items
  have no ``listitem`` role is an error for assistive technology. They
  become ``role="listitem"``, as DPUB-ARIA 1.1 advises.

**Small fixes**, for both builds:

* ``book.css`` (in ``_ext/static/``, on every page): long identifiers and
  code wrap or scroll, so no page is wider than a phone.

* ``widgets-mathjax3.js`` (in ``_ext/static/``, added before the widget
  manager on pages with widgets): the manager typesets widget labels with the
  MathJax 2 API, which MathJax 3 lacks; without the bridge every widget label
  throws an error in the browser console.
* Sphinx 7 lists a few inline scripts twice on every page (sphinx-thebe's
  ``const THEBE_JS_URL = ...`` among them, a console error on every page);
  identical script entries are dropped.
* On the search page, Sphinx fetches every result page to show a snippet of
  it; a browser refuses ``fetch`` on ``file://`` URLs, so a book opened from
  disk would log an error per result. There the snippets are switched off;
  results still list and link as usual, and a served book keeps its snippets.
"""
from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

from sphinx.util import logging

logger = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
NODE_MODULES = ROOT / "node_modules"
OFFLINE = "offline"  # under _static/ (the theme already uses _static/vendor/)

#: The MathJax combined component each page loads: TeX and MathML input,
#: CommonHTML output with MathJax's own web fonts (what Sphinx loads by default).
MATHJAX_COMPONENT = "tex-mml-chtml.js"

#: What to copy: directory under _static/offline -> (npm package, paths inside it).
#: MathJax's lazily loaded parts stay beside its entry file, where its loader
#: looks for them: the TeX extensions that ``autoload`` pulls in (\boldsymbol,
#: \color, \cancel, ...), the CHTML fonts, and the menu's accessibility tools.
#: The widget manager's CSS refers to the Font Awesome fonts beside it.
ASSETS = {
    "mathjax": ("mathjax", [
        f"es5/{MATHJAX_COMPONENT}",
        "es5/input/tex/extensions",
        "es5/output/chtml/fonts/woff-v2",
        "es5/a11y",
        "es5/sre",
        "es5/ui",
        "LICENSE",
    ]),
    "html-manager": ("@jupyter-widgets/html-manager", [
        "dist/embed.js",
        "dist/embed.js.LICENSE.txt",
        "dist/*.woff2",
        "dist/*.woff",
    ]),
}
MATHJAX_PATH = f"{OFFLINE}/mathjax/{MATHJAX_COMPONENT}"
WIDGETS_JS = f"{OFFLINE}/html-manager/embed.js"
WIDGETS_SHIM = "widgets-mathjax3.js"
WIDGETS_A11Y = "widgets-a11y.js"


def _installed(package: str) -> str | None:
    meta = NODE_MODULES / package / "package.json"
    if not meta.is_file():
        return None
    return json.loads(meta.read_text(encoding="utf8"))["version"]


def _pinned(package: str) -> str:
    return json.loads((ROOT / "package.json").read_text(encoding="utf8"))["devDependencies"][package]


def _use_local_assets() -> bool:
    mode = os.environ.get("WINIT_BOOK_ASSETS", "local").strip().lower() or "local"
    if mode == "cdn":
        logger.info("[book_html] WINIT_BOOK_ASSETS=cdn: MathJax and the widget manager load from CDNs")
        return False
    if mode != "local":
        logger.warning(f"[book_html] WINIT_BOOK_ASSETS={mode!r}: expected 'local' or 'cdn'",
                       type="book_html", subtype="config")
    problems = []
    for package, _ in ASSETS.values():
        have, want = _installed(package), _pinned(package)
        if have is None:
            problems.append(f"{package} is not installed")
        elif have != want:
            problems.append(f"{package} {have} is installed but package.json pins {want}")
    if problems:
        logger.warning(
            "[book_html] " + "; ".join(problems) + ": run `npm ci` in the repository root. "
            "Falling back to CDNs: this build shows math and widgets only with a network.",
            type="book_html", subtype="assets",
        )
        return False
    return True


def _configure(app, config) -> None:
    app.winit_local_assets = _use_local_assets()
    config.html_static_path = [*config.html_static_path, str(HERE / "static")]
    # ahead of the theme's own components, which it overrides (see the module docstring)
    config.templates_path = [str(HERE / "templates"), *config.templates_path]
    # myst-nb injects these only into pages whose notebook stores widget state.
    widgets_js = {WIDGETS_JS: {}} if app.winit_local_assets else dict(config.nb_ipywidgets_js)
    config.nb_ipywidgets_js = {WIDGETS_SHIM: {}, WIDGETS_A11Y: {}, **widgets_js}
    if app.winit_local_assets:
        config.mathjax_path = MATHJAX_PATH


def _drop_duplicate_scripts(app, pagename, templatename, context, doctree) -> None:
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, unique = set(), []
    for script in scripts:
        key = (os.fspath(script.filename or ""), tuple(sorted(script.attributes.items())))
        if key not in seen:
            seen.add(key)
            unique.append(script)
    scripts[:] = unique  # the builder restores its own list after each page


SEARCH_FROM_DISK = ("// A book opened from disk cannot fetch its pages for result snippets (see _ext/book_html.py).\n"
                    "if (location.protocol === 'file:') DOCUMENTATION_OPTIONS.SHOW_SEARCH_SUMMARY = false;")


#: docutils' markup of a bibliography entry (see the module docstring).
BIBLIOENTRY = re.compile(r'(<div class="citation"[^>]*?) role="doc-biblioentry"')


def _bibliography_list_items(app, pagename, templatename, context, doctree) -> None:
    body = context.get("body")
    if body and "doc-biblioentry" in body:
        context["body"] = BIBLIOENTRY.sub(r'\1 role="listitem"', body)


#: myst-nb's toggle of a hidden cell input or output (tags hide-input, hide-output): its aria-label
#: "Toggle hidden content" hides the visible text ("Show code cell source") from assistive technology,
#: which WCAG 2.5.3 (label in name; axe-core's label-content-name-mismatch) forbids. Without the
#: attribute, the summary's visible text is its accessible name.
HIDDEN_CELL_TOGGLE = '<summary aria-label="Toggle hidden content">'


def _hidden_cell_toggles(app, pagename, templatename, context, doctree) -> None:
    body = context.get("body")
    if body and HIDDEN_CELL_TOGGLE in body:
        context["body"] = body.replace(HIDDEN_CELL_TOGGLE, "<summary>")


def _search_from_disk(app, pagename, templatename, context, doctree) -> None:
    if pagename == "search" and app.builder.format == "html":
        app.add_js_file(None, body=SEARCH_FROM_DISK, priority=300)  # after documentation_options.js (200)


def _register_authoryear_style() -> None:
    import collections
    import string

    from pybtex.plugin import register_plugin
    from pybtex.style.formatting.plain import Style as PlainStyle
    from pybtex.style.labels import BaseLabelStyle

    class AuthorYearLabels(BaseLabelStyle):
        def format_labels(self, sorted_entries):
            labels = [self.format_label(entry) for entry in sorted_entries]
            counts, seen = collections.Counter(labels), collections.Counter()
            for label in labels:  # "He et al., 2015a", "He et al., 2015b"
                seen[label] += 1
                yield label + string.ascii_lowercase[seen[label] - 1] if counts[label] > 1 else label

        @staticmethod
        def format_label(entry):
            persons = entry.persons.get("author") or entry.persons.get("editor") or []
            names = [" ".join(n.render_as("text") for n in p.rich_last_names) for p in persons]
            if names[-1:] == ["others"]:  # "Chollet and others"
                names = names[:-1] + ["", ""]
            if not names:
                who = entry.fields.get("organization") or entry.fields.get("key") or entry.key
            elif len(names) == 1:
                who = names[0]
            elif len(names) == 2:
                who = f"{names[0]} and {names[1]}"
            else:
                who = f"{names[0]} et al."
            return f"{who}, {entry.fields.get('year', 'n.d.')}"

    class AuthorYearStyle(PlainStyle):
        default_label_style = "authoryear"
        default_sorting_style = "author_year_title"

    register_plugin("pybtex.style.labels", "authoryear", AuthorYearLabels, force=True)
    register_plugin("pybtex.style.formatting", "authoryear", AuthorYearStyle, force=True)


def _resolve_reexported(app, env, node, contnode):
    """Resolve ``winit_edu.X.rest`` where the object ``X...`` is defined.

    The target is followed attribute by attribute through modules (a flat name
    such as ``winit_edu.network`` is the module ``winit_edu.nn.network``); the
    first object that is not a module is replaced by its defining module and
    qualified name (``winit_edu.theory.gradient_factors`` ->
    ``winit_edu.theory.moments.gradient_factors``, ``winit_edu.MLP.trace`` ->
    ``winit_edu.nn.network.MLP.trace``).
    """
    if node.get("refdomain") != "py":
        return None
    target = node.get("reftarget", "")
    parts = target.split(".")
    if len(parts) < 2 or parts[0] != "winit_edu":
        return None
    import importlib
    import inspect

    obj = parent = importlib.import_module("winit_edu")
    i = 1
    while i < len(parts) and inspect.ismodule(obj):
        parent, obj = obj, getattr(obj, parts[i], None)
        if obj is None:
            return None
        i += 1
    if inspect.ismodule(obj):
        head = [obj.__name__]
    else:
        module = getattr(obj, "__module__", None)
        qualname = getattr(obj, "__qualname__", None)
        if module and qualname and module.startswith("winit_edu."):
            head = [module, qualname]
        else:  # data (a tuple, a dict): documented in the module it was found in
            head = [parent.__name__, parts[i - 1]]
    canonical = ".".join([*head, *parts[i:]])
    if canonical == target:
        return None
    domain = env.get_domain("py")
    return domain.resolve_xref(env, node["refdoc"], app.builder, node["reftype"], canonical, node, contnode)


def _check_api_reference(app, env) -> None:
    if "book/api" not in env.found_docs:
        return
    import pkgutil

    import winit_edu

    documented = set(env.get_domain("py").modules)
    for info in pkgutil.walk_packages(winit_edu.__path__, prefix="winit_edu."):
        name = info.name
        if not any(part.startswith("_") for part in name.split(".")) and name not in documented:
            logger.warning(f"[book_html] {name} is not in the API reference: add an automodule for it to book/api.md",
                           type="book_html", subtype="api", location="book/api")


def _copy_assets(app, exception) -> None:
    if exception is not None or app.builder.format != "html" or not getattr(app, "winit_local_assets", False):
        return
    count = 0
    for dest, (package, patterns) in ASSETS.items():
        source = NODE_MODULES / package
        target = Path(app.outdir) / "_static" / OFFLINE / dest
        if target.exists():
            shutil.rmtree(target)
        for pattern in patterns:
            matches = sorted(source.glob(pattern))
            if not matches:
                raise FileNotFoundError(f"[book_html] {package}: nothing matches {pattern!r}; run `npm ci`")
            for path in matches:
                rel = path.relative_to(source)
                if rel.parts[0] in ("es5", "dist"):  # drop the package's build directory
                    rel = Path(*rel.parts[1:])
                if path.is_dir():
                    shutil.copytree(path, target / rel, dirs_exist_ok=True)
                    count += sum(1 for p in path.rglob("*") if p.is_file())
                else:
                    (target / rel).parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(path, target / rel)
                    count += 1
    logger.info(f"[book_html] copied {count} files of mathjax {_installed('mathjax')} and "
                f"@jupyter-widgets/html-manager {_installed('@jupyter-widgets/html-manager')} "
                f"from node_modules/ into _static/{OFFLINE}/")


def setup(app):
    _register_authoryear_style()
    # late, so that Jupyter Book's and myst-nb's defaults are already in place
    app.connect("config-inited", _configure, priority=900)
    app.add_css_file("book.css")
    app.add_js_file("scroll-tabstops.js", loading_method="defer")
    app.connect("html-page-context", _drop_duplicate_scripts, priority=999)
    app.connect("html-page-context", _search_from_disk)
    app.connect("html-page-context", _bibliography_list_items)
    app.connect("html-page-context", _hidden_cell_toggles)
    app.connect("missing-reference", _resolve_reexported)
    app.connect("env-check-consistency", _check_api_reference)
    app.connect("build-finished", _copy_assets)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
