"""The built HTML book, opened from disk in a real browser with the network cut off.

Every page must typeset all of its math, load all of its images, render its
widgets, list every chapter in the table of contents, and do so with no
console error, no failed request and no request that leaves the machine.
Beyond that: the precomputed widgets respond to their slider, exercise
solutions start collapsed and open on a click, search works offline, every
notebook page offers its .ipynb and a Binder link, no page is wider than a
phone, and figures stay on a light background in the dark theme. And axe-core
(pinned in package.json, installed by ``npm ci``, injected from disk) finds no
serious or critical WCAG 2.1 A/AA violation on any page, light or dark, and no
figure's text alternative is its file name (KNOWN_NOTEBOOK_VIOLATIONS would list
any that only a notebook can fix; it is empty). Every equation takes the colour
and background of the text around it (axe-core's contrast check cannot see
MathJax's glyphs).

Screenshots of key pages land in ``_build/screenshots/`` (see conftest.py)
for a person to look at. Run with ``python -m pytest tests/browser`` after
building the book.
"""
from __future__ import annotations

import contextlib
import json
import pathlib
import re
from urllib.parse import unquote, urlsplit

import pytest
import yaml

from built_book import ROOT, book_html, html_pages, toc_entries

PAGES = html_pages()
PAGE_IDS = [str(p) for p in PAGES]
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
TIMEOUT_MS = 30_000

# Pages worth a screenshot, by document name; the first chapter is the one with
# widgets, equations and exercises.
KEY_PAGES = ("book/intro", "book/01_why_initialization_matters", "book/notation", "book/glossary",
             "book/bibliography", "book/api")


def _shot_name(page: pathlib.Path, suffix: str = "") -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", str(page.with_suffix(""))) + suffix + ".png"


def _is_key(page: pathlib.Path) -> bool:
    return str(page.with_suffix("")) in KEY_PAGES


@contextlib.contextmanager
def open_page(browser, url, viewport=DESKTOP, color_scheme="light", mobile=False):
    """A page loaded from ``url`` with the network cut off, and the list of what went wrong."""
    context = browser.new_context(viewport=viewport, color_scheme=color_scheme, is_mobile=mobile,
                                  has_touch=mobile, device_scale_factor=2 if mobile else 1)
    context.set_offline(True)
    problems: list[str] = []

    def block(route):
        problems.append(f"request leaving the machine: {route.request.url}")
        route.abort()

    context.route(re.compile(r"^(?!file:|data:|blob:|about:).*"), block)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.on("console", lambda m: m.type == "error" and problems.append(f"console error: {m.text}"))
    page.on("pageerror", lambda e: problems.append(f"uncaught error: {e}"))
    page.on("requestfailed", lambda r: problems.append(f"failed request: {r.url} ({r.failure})"))
    try:
        page.goto(url, wait_until="load")
        if 'http-equiv="Refresh"' in pathlib.Path(unquote(urlsplit(url).path)).read_text():
            # a redirect page (the book's index.html): let the browser follow it before looking
            page.wait_for_url(lambda now: now.split("?")[0] != url.split("?")[0])
            page.wait_for_load_state("load")
        settle(page)
        yield page, problems
    finally:
        context.close()


def settle(page):
    """Wait for MathJax's first typesetting, the widgets, the images, the fonts and the colours.

    The colours: the theme applies a dark preference only once its script runs, and its
    buttons then ease into their dark colours (0.15 s); half-way, their text is barely
    readable, which a contrast check must not catch.
    """
    n_views = page.locator(f'script[type="{WIDGET_VIEW}"]').count()
    if n_views:
        page.wait_for_function(
            "n => document.querySelectorAll('.widget-subarea .jupyter-widgets').length >= n", arg=n_views)
    page.evaluate("""async () => {
        if (window.MathJax && MathJax.startup && MathJax.startup.promise) await MathJax.startup.promise;
        await Promise.all([...document.images].map(img => img.complete ? null :
            new Promise(done => { img.addEventListener('load', done); img.addEventListener('error', done); })));
        await document.fonts.ready;
        const easing = document.getAnimations().filter(a => a.effect && a.effect.getComputedTiming().endTime < Infinity);
        await Promise.race([Promise.all(easing.map(a => a.finished.catch(() => null))),
                            new Promise(done => setTimeout(done, 2000))]);
    }""")


def page_url(root: pathlib.Path, page: pathlib.Path, query: str = "") -> str:
    return (root / page).as_uri() + query


# --------------------------------------------------------------------------- the table of contents


@pytest.mark.parametrize("entry", toc_entries())
def test_every_toc_entry_was_built(html_root, entry):
    assert (html_root / f"{entry}.html").is_file(), f"{entry} is in _toc.yml but the build has no {entry}.html"


# --------------------------------------------------------------------------- every page, offline


MATH_PROBLEMS = """() => {
    const problems = [];
    for (const el of document.querySelectorAll('.math')) {
        if (!el.querySelector('mjx-container')) problems.push('math not typeset: ' + el.textContent.trim().slice(0, 80));
    }
    for (const el of document.querySelectorAll('mjx-merror')) {
        problems.push('MathJax error: ' + (el.getAttribute('data-mjx-error') || el.textContent).slice(0, 80));
    }
    // the text outside code and math, walked rather than cut out of a clone: after axe-core has run,
    // every node removed in the page's document updates the thousands of Ranges axe leaves for the
    // garbage collector (2.3 s on the API page)
    const skip = 'pre, code, script, style, textarea, mjx-container, .highlight';
    const walker = document.createTreeWalker(document.querySelector('main') || document.body,
        NodeFilter.SHOW_ELEMENT | NodeFilter.SHOW_TEXT,
        n => n.nodeType === Node.ELEMENT_NODE && n.matches(skip) ? NodeFilter.FILTER_REJECT : NodeFilter.FILTER_ACCEPT);
    let text = '';
    for (let n; (n = walker.nextNode());) if (n.nodeType === Node.TEXT_NODE) text += n.data;
    const raw = [/\\$\\$/, /\\\\\\(/, /\\\\\\[/, /\\\\begin\\{/, /\\$[^$\\n]*[\\\\^_{}][^$\\n]*\\$/];
    for (const pattern of raw) {
        const m = text.match(pattern);
        if (m) problems.push('raw TeX left in the text: ' + JSON.stringify(text.slice(Math.max(0, m.index - 30), m.index + 50)));
    }
    return problems;
}"""

IMAGE_PROBLEMS = """() => [...document.images]
    .filter(img => !(img.complete && img.naturalWidth > 0))
    .map(img => 'image did not load: ' + (img.getAttribute('src') || '').slice(0, 120))"""

WIDGET_PROBLEMS = """(viewType) => {
    const problems = [];
    for (const script of document.querySelectorAll(`script[type="${viewType}"]`)) {
        const area = script.previousElementSibling;
        if (!area || !area.classList.contains('widget-subarea') || !area.querySelector('.jupyter-widgets')) {
            problems.push('widget not rendered: ' + script.textContent.slice(0, 100));
        } else if (area.getBoundingClientRect().height < 10) {
            problems.push('widget rendered with no height: ' + script.textContent.slice(0, 100));
        }
    }
    return problems;
}"""


@pytest.mark.parametrize("page", PAGES, ids=PAGE_IDS)
def test_page_works_offline_in_both_themes(browser, html_root, screenshot_dir, axe_script, page):
    """One page, desktop size: it renders offline, what a reader can do on it works, and it meets
    WCAG 2.1 AA in the light theme and then in the dark one.

    The page is loaded once: axe-core checks it as it arrives (light theme); then the reader's
    actions run (solutions open, sliders move); then the system preference turns dark, as a
    reader's setting does, the theme follows in place, and the figures and axe-core are checked
    again (now with the solutions open). One load instead of four keeps the suite fast; every
    check reports what it found with the page and theme named.
    """
    with open_page(browser, page_url(html_root, page)) as (tab, problems):
        if page == pathlib.Path("index.html"):  # Jupyter Book's redirect to the first page
            assert tab.url.endswith("/book/intro.html"), tab.url
            return
        assert tab.evaluate("() => document.documentElement.dataset.theme") == "light"
        problems += axe_problems(tab, page, axe_script, "light")
        problems += math_colour_problems(tab, "light")
        problems += tab.evaluate(MATH_PROBLEMS)
        problems += tab.evaluate(IMAGE_PROBLEMS)
        problems += tab.evaluate(WIDGET_PROBLEMS, WIDGET_VIEW)
        problems += toc_problems(tab, html_root)
        if _is_key(page):
            tab.screenshot(path=screenshot_dir / _shot_name(page))
        if page in NOTEBOOK_PAGES:
            problems += download_and_launch_problems(tab, page)
        if tab.locator(f'script[type="{WIDGET_VIEW}"]').count():
            problems += widget_response_problems(tab, page, screenshot_dir)
        if tab.locator(".solution.dropdown").count():
            problems += solution_problems(tab)
        tab.emulate_media(color_scheme="dark")
        with contextlib.suppress(Exception):  # the theme follows in a moment; reported below if not
            tab.wait_for_function("() => document.documentElement.dataset.theme === 'dark'", timeout=5_000)
        settle(tab)  # and its colours ease in
        problems += dark_theme_problems(tab, page, screenshot_dir)
        problems += axe_problems(tab, page, axe_script, "dark")
        problems += math_colour_problems(tab, "dark")
    assert not problems, f"{page}:\n  " + "\n  ".join(problems)


def toc_problems(tab, html_root) -> list[str]:
    """The sidebar lists every document of _toc.yml that was built."""
    nav = tab.locator("nav.bd-docs-nav")
    if nav.count() != 1:
        return ["no table of contents (nav.bd-docs-nav) in the sidebar"]
    listed = {unquote(urlsplit(href).path) for href in nav.locator("a").evaluate_all("links => links.map(a => a.href)")}
    problems = []
    for entry in toc_entries():
        target = html_root / f"{entry}.html"
        if target.is_file() and target.as_posix() not in listed:
            problems.append(f"table of contents does not list {entry}")
    return problems


# --------------------------------------------------------------------------- notebook pages


def _repository():
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf8"))
    repo = config["repository"]
    org, name = urlsplit(repo["url"]).path.strip("/").split("/")[:2]
    return org, name, repo.get("branch", "main"), repo.get("path_to_book", "").strip("/")


NOTEBOOK_PAGES = [p for p in PAGES if (book_html() / "_sources" / p.with_suffix(".ipynb")).is_file()]


def download_and_launch_problems(tab, page) -> list[str]:
    """A chapter offers its notebook for download and a Binder link that opens it."""
    org, name, branch, path_to_book = _repository()
    notebook = "/".join(filter(None, [path_to_book, page.with_suffix(".ipynb").as_posix()]))
    problems = []
    if not (ROOT / notebook).is_file():
        problems.append(f"the page's notebook {notebook} is not in the repository")
    download = tab.locator("a.btn-download-source-button")
    if download.count() != 1:
        problems.append("no download button for the notebook")
    else:
        target = pathlib.Path(unquote(urlsplit(download.evaluate("a => a.href")).path))
        if target.suffix != ".ipynb" or not target.is_file() or not json.loads(target.read_text(encoding="utf8"))["cells"]:
            problems.append(f"the download button does not offer the notebook: {target}")
    binder = tab.locator('a[href^="https://mybinder.org/"]')
    want = f"https://mybinder.org/v2/gh/{org}/{name}/{branch}?urlpath=lab/tree/{notebook}"
    if binder.count() != 1 or binder.get_attribute("href") != want:
        problems.append(f"no Binder launch button to {want}")
    return problems


# --------------------------------------------------------------------------- widgets respond


SCRUBBERS = """() => [...document.querySelectorAll('.widget-subarea')]
    .map((area, i) => ({i, sliders: area.querySelectorAll('.widget-slider').length, images: area.querySelectorAll('img').length}))
    .filter(w => w.sliders > 0 && w.images > 0).map(w => w.i)"""

VISIBLE_FRAME = """(i) => {
    const area = document.querySelectorAll('.widget-subarea')[i];
    const shown = [...area.querySelectorAll('img')].filter(img => img.offsetParent !== null && img.naturalWidth > 0);
    const readout = area.querySelector('.widget-readout');
    return {srcs: shown.map(img => img.src), readout: readout ? readout.textContent.trim() : null};
}"""


def widget_response_problems(tab, page, screenshot_dir) -> list[str]:
    """Every precomputed widget (a slider over pictures) shows another picture when its slider moves."""
    scrubbers = tab.evaluate(SCRUBBERS)
    if not scrubbers:
        return ["the page stores widgets but none is a slider over pictures"]
    problems = []
    for n, i in enumerate(scrubbers):
        area = tab.locator(".widget-subarea").nth(i)
        area.scroll_into_view_if_needed()
        before = tab.evaluate(VISIBLE_FRAME, i)
        if len(before["srcs"]) != 1:
            problems.append(f"widget {n}: {len(before['srcs'])} pictures visible at once")
            continue
        area.screenshot(path=screenshot_dir / _shot_name(page, f"-widget{n}-before"))
        area.locator(".noUi-handle").first.focus()
        for _ in range(2):
            tab.keyboard.press("ArrowRight")
        try:
            tab.wait_for_function(f"() => ({VISIBLE_FRAME})({i}).readout !== {json.dumps(before['readout'])}",
                                  timeout=5_000)
            # one picture visible, and another one: the Stack may show two for a moment while it switches
            tab.wait_for_function(f"() => {{ const v = ({VISIBLE_FRAME})({i}); "
                                  f"return v.srcs.length === 1 && v.srcs.join() !== {json.dumps(','.join(before['srcs']))}; }}",
                                  timeout=10_000)
        except Exception:  # noqa: BLE001 - reported below with what the page shows
            pass
        after = tab.evaluate(VISIBLE_FRAME, i)
        area.screenshot(path=screenshot_dir / _shot_name(page, f"-widget{n}-after"))
        if after["readout"] == before["readout"]:
            problems.append(f"widget {n}: the slider did not move from {before['readout']}")
        elif len(after["srcs"]) != 1 or after["srcs"] == before["srcs"]:
            problems.append(f"widget {n}: the slider moved ({before['readout']} -> {after['readout']}) "
                            f"but the picture did not change")
    return problems


# --------------------------------------------------------------------------- exercises


def solution_problems(tab) -> list[str]:
    """Exercise solutions start collapsed and open on a click."""
    problems = []
    solutions = tab.locator(".solution.dropdown")
    for k in range(solutions.count()):
        solution = solutions.nth(k)
        body = solution.locator(":scope > :not(.admonition-title)").first
        if body.is_visible():
            problems.append(f"solution {k} is visible before the reader asks for it")
            continue
        solution.locator(":scope > .admonition-title").click()  # its own title, not a code cell's inside it
        try:
            body.wait_for(state="visible", timeout=5_000)
        except Exception:  # noqa: BLE001
            problems.append(f"solution {k} does not open on a click")
    return problems


# --------------------------------------------------------------------------- equations


def test_numbered_equations_are_referenced_from_the_text(browser, html_root):
    page = pathlib.Path("book/notation.html")
    with open_page(browser, page_url(html_root, page)) as (tab, problems):
        numbers = tab.locator("div.math .eqno").all_text_contents()
        assert len(numbers) >= 3, numbers
        refs = tab.locator('a.reference[href*="#equation-notation-"]').evaluate_all(
            "links => links.map(a => [a.textContent.trim(), a.hash])")
        assert len(refs) >= 3, refs
        for text, anchor in refs:
            assert re.fullmatch(r"Eq\. ?\(?\d+(\.\d+)*\)?", text), text
            assert tab.locator(f"[id='{anchor[1:]}']").count() == 1, anchor
    assert not problems, "\n".join(problems)


# --------------------------------------------------------------------------- search


@pytest.mark.parametrize("word", ["initialization", "glorot", "fan_in"])
def test_search_works_offline(browser, html_root, screenshot_dir, word):
    with open_page(browser, page_url(html_root, pathlib.Path("search.html"), f"?q={word}")) as (tab, problems):
        results = tab.locator("#search-results ul.search li")
        results.first.wait_for()
        assert results.count() > 0
        if word == "glorot":
            tab.screenshot(path=screenshot_dir / "search.png")
    assert not problems, "\n".join(problems)


# --------------------------------------------------------------------------- a phone


@pytest.mark.parametrize("page", [p for p in PAGES if p.name != "index.html"], ids=lambda p: str(p))
def test_page_fits_a_phone_screen(browser, html_root, screenshot_dir, page):
    with open_page(browser, page_url(html_root, page), viewport=PHONE, mobile=True) as (tab, problems):
        width = tab.evaluate("() => document.documentElement.scrollWidth")
        if width > PHONE["width"]:  # what sticks out, for the message
            wide = tab.evaluate("""(limit) => [...document.querySelectorAll('main *')]
                .filter(e => e.getBoundingClientRect().right > limit + 1 && e.offsetParent !== null
                             && !e.closest('pre, .highlight, .table-wrapper, .pst-scrollable-table-container, .math, mjx-container, .cell_output, .output'))
                .slice(0, 5).map(e => e.tagName + '.' + e.className)""", PHONE["width"])
            pytest.fail(f"the page is {width} px wide on a {PHONE['width']} px screen: {wide}")
        if _is_key(page):
            tab.screenshot(path=screenshot_dir / _shot_name(page, "-phone"))
            math = tab.locator("div.math").first
            if math.count():
                math.scroll_into_view_if_needed()
                tab.screenshot(path=screenshot_dir / _shot_name(page, "-phone-math"))
            widget = tab.locator(".widget-subarea").first
            if widget.count():
                widget.scroll_into_view_if_needed()
                tab.screenshot(path=screenshot_dir / _shot_name(page, "-phone-widget"))
    assert not problems, "\n".join(problems)


# --------------------------------------------------------------------------- the dark theme


LUMINANCE = """(el) => {
    const m = getComputedStyle(el).backgroundColor.match(/\\d+(\\.\\d+)?/g).map(Number);
    if (m.length === 4 && m[3] === 0) return null;  // transparent
    return (0.2126 * m[0] + 0.7152 * m[1] + 0.0722 * m[2]) / 255;
}"""

# Each visible item's background luminance, all in one call (a round trip per item took 0.3-0.4 s
# on a chapter); null for a transparent one, "hidden" for one Playwright's is_visible() would skip.
LUMINANCES = f"""(selector) => [...document.querySelectorAll(selector)].map(el => {{
    const style = getComputedStyle(el), rect = el.getBoundingClientRect();
    const visible = el.checkVisibility() && style.visibility === 'visible' && rect.width > 0 && rect.height > 0;
    return visible ? ({LUMINANCE})(el) : 'hidden';
}})"""


def dark_theme_problems(tab, page, screenshot_dir) -> list[str]:
    """In the dark theme the page is dark, and figures and widgets keep their light background."""
    theme = tab.evaluate("() => document.documentElement.dataset.theme")
    if theme != "dark":
        return [f"the book does not follow the reader's dark preference (theme {theme!r})"]
    problems = []
    body = tab.evaluate(LUMINANCE, tab.locator("body").element_handle())
    if body is None or body >= 0.2:
        problems.append(f"dark theme: the page background is not dark (luminance {body})")
    for kind, selector in [("figure", ".cell_output img"), ("widget", ".cell_output .widget-subarea")]:
        for k, lum in enumerate(tab.evaluate(LUMINANCES, selector)):
            if lum == "hidden":
                continue
            if lum is None or lum <= 0.6:
                problems.append(f"dark theme: {kind} {k} sits on a dark background (luminance {lum})")
    if _is_key(page) and tab.locator(".cell_output img").count():
        figure = tab.locator(".cell_output img").first
        figure.scroll_into_view_if_needed()
        tab.screenshot(path=screenshot_dir / _shot_name(page, "-dark"))
        widget = tab.locator(".widget-subarea").first
        if widget.count():
            widget.scroll_into_view_if_needed()
            tab.screenshot(path=screenshot_dir / _shot_name(page, "-dark-widget"))
    return problems


# --------------------------------------------------------------------------- accessibility: WCAG 2.1 AA


WCAG_21_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
BLOCKING = ["serious", "critical"]
#: Violations whose fix belongs to the notebooks (or to winit_edu, which draws
#: their widgets), not to the book's theme: (page, rule) -> a CSS selector of the
#: elements tolerated for that rule on that page. Tolerated only until the fix
#: lands: an entry that no longer matches anything fails the test, so that it is
#: deleted with the fix. Add an entry only with the notebook fix it waits for.
KNOWN_NOTEBOOK_VIOLATIONS = {}   # none left: every figure and widget frame has a text alternative

AXE_RUN = """async ([tags, impacts, allowed]) => {
    const {violations} = await axe.run(document, {
        runOnly: {type: 'tag', values: tags}, resultTypes: ['violations'], elementRef: true,
        preload: false,  // no fetching of stylesheets, which a page opened from disk may not do
    });
    // axe-core accepts any alt text; docutils gives an image with none its file name
    const fileNamed = [...document.images].filter(img => {
        const alt = (img.getAttribute('alt') || '').trim(), src = img.getAttribute('src') || '';
        return alt && (alt === src || alt === src.split('/').pop() || /\\.(png|jpe?g|gif|svg|webp)$/i.test(alt));
    });
    if (fileNamed.length) violations.push({
        id: 'image-alt-is-file-name', impact: 'critical',
        help: 'Images must have a text alternative that says what they show, not their file name',
        helpUrl: 'https://www.w3.org/WAI/WCAG21/Understanding/non-text-content.html',
        nodes: fileNamed.map(img => ({element: img, impact: 'critical', target: [`img[alt="${img.getAttribute('alt')}"]`],
                                      failureSummary: 'Fix this:\\n  the alt text is the file name'})),
    });
    const found = [], tolerated = new Set();
    for (const v of violations) {
        const nodes = v.nodes.filter(n => impacts.includes(n.impact)).filter(n => {
            const ok = allowed[v.id] && n.element && n.element.matches(allowed[v.id]);
            if (ok) tolerated.add(v.id);
            return !ok;
        });
        if (nodes.length) found.push({id: v.id, impact: v.impact, help: v.help, url: v.helpUrl, count: nodes.length,
            nodes: nodes.slice(0, 3).map(n => ({target: n.target.join(' '),
                why: (n.failureSummary || '').split('\\n').slice(1).map(s => s.trim()).join('; ')}))});
    }
    return {found, tolerated: [...tolerated], version: axe.version};
}"""


def axe_problems(tab, page, axe_script, scheme) -> list[str]:
    """Serious and critical WCAG 2.1 A/AA violations on the page as it is now: axe-core's, and file names as alt text."""
    if not tab.evaluate("() => Boolean(window.axe)"):
        tab.add_script_tag(path=axe_script)
    allowed = {rule: selector for (where, rule), selector in KNOWN_NOTEBOOK_VIOLATIONS.items() if where == page.as_posix()}
    result = tab.evaluate(AXE_RUN, [WCAG_21_AA, BLOCKING, allowed])
    problems = []
    for v in result["found"]:
        examples = "".join(f"\n      {n['target']}: {n['why']}" for n in v["nodes"])
        more = f" (and {v['count'] - len(v['nodes'])} more)" if v["count"] > len(v["nodes"]) else ""
        problems.append(f"{v['id']} ({v['impact']}): {v['help']}; {v['count']} element(s){more}:{examples}\n      {v['url']}")
    for rule in sorted(set(allowed) - set(result["tolerated"])):
        problems.append(f"KNOWN_NOTEBOOK_VIOLATIONS lists {rule} on {page} for {allowed[rule]!r}, but that is fixed: "
                        f"delete the entry")
    if problems:
        problems.insert(0, f"axe-core {result['version']}, WCAG 2.1 AA, serious or critical, {scheme} theme:")
    return problems


# axe-core's contrast check does not see MathJax's glyphs: CommonHTML draws them as CSS generated
# content (mjx-c::before), which axe skips, and the MathML copy for screen readers is clipped out of
# sight. They are readable because they take the colour and background of the text around them,
# which axe does check; this asserts that, for every equation, in both themes (30-50 ms a page).
MATH_COLOUR_PROBLEMS = """() => {
    const problems = [], transparent = 'rgba(0, 0, 0, 0)';
    const containers = document.querySelectorAll('mjx-container');
    const tag = el => '<' + el.localName
        + ['class', 'style'].map(a => el.hasAttribute(a) ? ` ${a}="${el.getAttribute(a)}"` : '').join('') + '>';
    containers.forEach((box, i) => {
        const anchor = box.closest('[id]'), source = box.querySelector('mjx-assistive-mml') || box;
        const where = `equation ${i + 1} of ${containers.length}${anchor ? ' in #' + anchor.id : ''} `
                    + `(${JSON.stringify(source.textContent.trim().slice(0, 40))})`;
        const own = getComputedStyle(box), around = getComputedStyle(box.parentElement);
        if (own.color !== around.color || own.backgroundColor !== transparent) {
            problems.push(`${where}: ${own.color} on ${own.backgroundColor}, but the text around it is ${around.color} `
                          + `and the equation should be transparent`);
        }
        // every element inside keeps its parent's colour (so the equation's) and has no background;
        // only the element that sets another one is named, not each glyph that inherits it
        const colour = new Map([[box, own.color]]);
        for (const el of box.querySelectorAll('*')) {  // in document order: parents first
            const style = getComputedStyle(el);
            colour.set(el, style.color);
            if (style.color !== colour.get(el.parentElement) || style.backgroundColor !== transparent) {
                problems.push(`${where}: ${tag(el)} is ${style.color} on ${style.backgroundColor}, `
                              + `not the equation's ${own.color} on transparent`);
            }
        }
    });
    return problems;
}"""


def math_colour_problems(tab, scheme) -> list[str]:
    """Equations whose colour or background is not that of the text around them (see MATH_COLOUR_PROBLEMS)."""
    found = tab.evaluate(MATH_COLOUR_PROBLEMS)
    if not found:
        return []
    more = [f"(and {len(found) - 5} more)"] if len(found) > 5 else []
    return [f"MathJax colours, {scheme} theme: an equation must take the colour and background of its text "
            f"(axe-core's contrast check does not see MathJax's glyphs):"] + [f"  {p}" for p in found[:5] + more]
