"""Structural checks of the book: every notebook is listed, executed, clean and complete.

nbval (collected from book/ by the same `pytest` run) re-executes each
notebook and compares outputs; these tests check what nbval does not: that
the stored outputs are complete and clean, and that every chapter follows
the template.
"""
import json
import pathlib
import re

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "book").glob("*.ipynb"))
CHAPTER_SECTIONS = ("Learning goals", "Exercises", "References", "Pitfalls")


def _load(path):
    return json.loads(path.read_text())


def _toc_entries():
    return set(re.findall(r"(?:file|root):\s*(\S+)", (ROOT / "_toc.yml").read_text()))


def test_there_are_notebooks():
    assert NOTEBOOKS, "book/ has no notebooks"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_listed_in_toc(path):
    assert str(path.relative_to(ROOT).with_suffix("")) in _toc_entries()


def test_toc_entries_exist():
    for entry in _toc_entries():
        assert any((ROOT / f"{entry}{ext}").exists() for ext in (".ipynb", ".md")), entry


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_stored_executed_and_clean(path):
    nb = _load(path)
    assert nb["metadata"]["kernelspec"]["name"] == "python3"
    code = [c for c in nb["cells"] if c["cell_type"] == "code" and "".join(c["source"]).strip()]
    counts = [c["execution_count"] for c in code]
    assert counts == list(range(1, len(code) + 1)), "re-execute the notebook top to bottom"
    for i, cell in enumerate(code):
        for out in cell["outputs"]:
            assert out["output_type"] != "error", f"code cell {i} stores an error"
            assert out.get("name") != "stderr", f"code cell {i} stores stderr output: fix the warning"
            text = json.dumps(out.get("text", "")) + json.dumps(out.get("data", {}).get("text/plain", ""))
            assert not re.search(r" at 0x[0-9a-f]{6,}", text), f"code cell {i} prints a memory address"
            assert not re.search(r"/(root|home|tmp|work|Users)/", text), f"code cell {i} prints a local path"


@pytest.mark.parametrize("path", [p for p in NOTEBOOKS if p.name[:2].isdigit()], ids=lambda p: p.name)
def test_chapter_follows_the_template(path):
    nb = _load(path)
    markdown = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")
    for section in CHAPTER_SECTIONS:
        assert re.search(rf"^#+ .*{section}", markdown, re.M | re.I) or section in markdown, section
    assert "{solution" in markdown, "exercises need worked solutions"
    assert "{cite" in markdown, "a chapter cites its sources"
    assert re.search(r"^\(ch-[a-z-]+\)=", markdown, re.M), "a chapter starts with a (ch-...)= label"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_glued_name_used_in_the_text_is_defined(path):
    nb = _load(path)
    markdown = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")
    used = set(re.findall(r"\{glue(?::[a-z]+)?\}`([^`:]+)", markdown))
    defined = set()
    for cell in nb["cells"]:
        for out in cell.get("outputs", []):
            name = out.get("metadata", {}).get("scrapbook", {}).get("name")
            if name:
                defined.add(name)
    assert used <= defined, f"glued in the text but never computed: {sorted(used - defined)}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_glued_strings_are_pasted_without_quotes(path):
    """`{glue:}` pastes a string's repr (with quotes); `{glue:text}` pastes the text itself."""
    nb = _load(path)
    markdown = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")
    strings = set()
    for cell in nb["cells"]:
        for out in cell.get("outputs", []):
            name = out.get("metadata", {}).get("scrapbook", {}).get("name")
            data = out.get("data", {})
            # glue stores its value under "application/papermill.record/text/plain"
            plain = "".join(next((v for k, v in data.items() if k.endswith("text/plain")), ""))
            if name and plain[:1] in ("'", '"'):
                strings.add(name)
    bare = set(re.findall(r"\{glue(?::any|:)?\}`([^`:]+)`", markdown)) & strings
    assert not bare, f"use {{glue:text}} for these glued strings: {sorted(bare)}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_outputs_nbval_does_not_compare_are_checked_by_asserts(path):
    """The README's rule for outputs that depend on floating-point rounding order.

    nbval compares a stored output digit by digit, so a cell whose numbers come
    from a trained network (or anything else that a different BLAS kernel rounds
    differently) carries the tag `nbval-ignore-output`. Such a cell must then
    check its claims itself, with asserts that hold on any correct machine. The
    only exception is a live widget (also tagged `remove-output`), whose output
    is widget internals and hidden in the HTML book.
    """
    nb = _load(path)
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    for i, cell in enumerate(code):
        tags = cell.get("metadata", {}).get("tags", [])
        if "nbval-ignore-output" not in tags or "remove-output" in tags:
            continue
        source = "".join(cell["source"])
        assert re.search(r"^\s*assert\b", source, re.M), (
            f"code cell {i} is not compared by nbval (nbval-ignore-output) and asserts nothing: "
            "check its claims with asserts that hold on every machine")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_text_pair_is_in_sync(path):
    """Every notebook has a MyST Markdown twin, book/md/NAME.md (jupytext), with the same cells.

    Reviews read the text file; the notebook carries the outputs. After editing
    either, `jupytext --sync book/NAME.ipynb` (or scripts/execute_notebooks.py,
    which syncs first) brings the other up to date.
    """
    import jupytext

    text_path = path.parent / "md" / f"{path.stem}.md"
    assert text_path.exists(), f"{text_path.relative_to(ROOT)} is missing: run jupytext --sync {path.relative_to(ROOT)}"
    assert _load(path)["metadata"].get("jupytext", {}).get("formats") == "ipynb,md//md:myst"

    def cells(nb):
        return [(c.cell_type, c.source.strip(), sorted(c.metadata.get("tags", [])), c.metadata.get("mystnb", {}))
                for c in nb.cells]

    in_text, in_notebook = cells(jupytext.read(text_path)), cells(jupytext.read(path))
    assert len(in_text) == len(in_notebook), "the two files have different numbers of cells: run jupytext --sync"
    for i, (a, b) in enumerate(zip(in_text, in_notebook)):
        assert a == b, f"cell {i} differs between {text_path.name} and {path.name}: run jupytext --sync"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_size_is_reasonable(path):
    assert path.stat().st_size < 3_000_000


def test_bibliography_keys_cited_exist():
    bib = (ROOT / "references.bib").read_text()
    keys = set(re.findall(r"@\w+\{([^,]+),", bib))
    cited = set()
    for path in list(NOTEBOOKS) + list((ROOT / "book").glob("*.md")):
        text = path.read_text()
        for group in re.findall(r"\{cite(?::[a-z]+)?\}`([^`]+)`", text):
            cited.update(k.strip() for k in group.split(","))
    assert cited <= keys, f"cited but missing from references.bib: {sorted(cited - keys)}"
