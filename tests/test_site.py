"""The course site as a reader meets it: built from the executed solutions, opened in headless Chromium."""

import ast
import functools
import html as html_module
import http.server
import os
import re
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat
import pytest
from IPython.core.inputtransformer2 import TransformerManager
from nbgrader.utils import is_solution

from graders.classroom.course import solution_notebooks
from graders.classroom.notebook_runs import Execution
from graders.core.paths import NOTEBOOKS_DIR, REPO_ROOT
from graders.publishing.learning_path import CONDITIONING_THREAD, PATH
from graders.publishing.site import Lesson, build_site, describe, load_executed, render_index

SCREENSHOTS_DIR = REPO_ROOT / "build" / "site-screenshots"
NOTEBOOKS = [path.stem for path in solution_notebooks()]
# What a page shows once MathJax has typeset it. A TeX error becomes an SVG node marked data-mjx-error.
# Plots are retina PNGs (twice the pixels of their displayed width); a plot inside a folded solution has
# no displayed width until the fold opens. A solution's code is hidden while its fold is closed.
RENDERED = """() => MathJax.startup.promise.then(() => ({
    math: document.querySelectorAll("mjx-container").length,
    mathErrors: document.querySelectorAll("[data-mjx-error]").length,
    plots: [...document.querySelectorAll(".jp-OutputArea-output img")].map(
        (img) => ({width: img.naturalWidth, shown: img.width,
                   embedded: img.src.startsWith("data:image/png;base64,")})),
    links: [...document.querySelectorAll("a[href]")].map((a) => a.getAttribute("href")),
    text: document.body.innerText,
    folds: [...document.querySelectorAll("details.course-solution")].map((fold) => ({
        open: fold.open,
        summary: fold.querySelector("summary").innerText,
        codeShown: fold.querySelector(".jp-InputArea").checkVisibility(),
    })),
    toc: [...document.querySelectorAll(".course-toc a")].map((a) => ({
        href: a.getAttribute("href"),
        target: document.getElementById(a.getAttribute("href").slice(1)) !== null,
    })),
    cardFigures: [...document.querySelectorAll(".card-figure")].map((img) => img.naturalWidth),
    durations: document.querySelectorAll(".duration").length,
}))"""
# Opening a fold shows its code: the first fold of a page, clicked as a reader would.
OPEN_FIRST_FOLD = """async () => {
    const fold = document.querySelector("details.course-solution");
    fold.querySelector("summary").click();
    await new Promise((resolve) => requestAnimationFrame(resolve));
    return fold.open && fold.querySelector(".jp-InputArea").checkVisibility();
}"""


@pytest.fixture(scope="session")
def executed(executed_solutions: dict[str, Execution | Exception]) -> dict[str, nbformat.NotebookNode]:
    """The solutions with their outputs, from the session's single run of every notebook."""
    failed = [name for name, run in executed_solutions.items() if isinstance(run, Exception)]
    if failed:
        pytest.fail(
            f"no site without every notebook: {', '.join(failed)} failed to execute (see test_generated)"
        )
    return {name: run.notebook for name, run in executed_solutions.items()}


@pytest.fixture(scope="session")
def site(executed: dict[str, nbformat.NotebookNode], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The site, built once per session into a temporary folder."""
    out = tmp_path_factory.mktemp("site")
    build_site(executed, out)
    return out


def png_outputs(notebook: nbformat.NotebookNode) -> int:
    """How many plots (PNG outputs) the executed notebook holds."""
    return sum(
        "image/png" in output.get("data", {}) for cell in notebook.cells for output in cell.get("outputs", [])
    )


def test_every_notebook_has_a_page_and_its_student_notebook_to_download(site: Path) -> None:
    for name in NOTEBOOKS:
        assert (site / f"{name}.html").is_file()
        assert (site / "notebooks" / f"{name}.ipynb").read_bytes() == (
            NOTEBOOKS_DIR / f"{name}.ipynb"
        ).read_bytes()


def test_index_lists_the_notebooks_in_course_order(site: Path) -> None:
    index = (site / "index.html").read_text(encoding="utf-8")
    pages = list(dict.fromkeys(re.findall(r'<h3><a href="(\d\d_\w+)\.html">', index)))
    assert pages == NOTEBOOKS


def test_the_recommended_path_takes_every_notebook_after_what_it_needs() -> None:
    order = [step.name for step in PATH]
    assert set(NOTEBOOKS) <= set(order), "a notebook missing from graders/publishing/learning_path.py"
    for place, step in enumerate(PATH):
        assert set(step.needs) <= set(order[:place]), f"{step.name} comes before what it needs"
    assert [name for name in order if name in CONDITIONING_THREAD] == list(CONDITIONING_THREAD)


def test_index_and_readme_give_the_recommended_path() -> None:
    index = render_index([Lesson(name, f"Title of {name}", "", "") for name in NOTEBOOKS])
    shown = re.findall(r'<li><a href="#(\d\d_\w+)">\d\d Title of \1</a>', index)
    assert shown == [step.name for step in PATH if step.name in NOTEBOOKS]
    needs = '<span class="needs">after 01</span>'
    assert f'href="#02_torch_optim">02 Title of 02_torch_optim</a> {needs}' in index
    assert "through 01, 05, 07, 12." in index
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    assert " → ".join(step.name[:2] for step in PATH) in readme


def solution_cells(notebook: nbformat.NotebookNode) -> int:
    return sum(cell.cell_type == "code" and is_solution(cell) for cell in notebook.cells)


def section_headings(notebook: nbformat.NotebookNode) -> list[str]:
    """The ## and ### headings of the notebook's markdown, as the table of contents should list them."""
    return [
        line.lstrip("#").strip()
        for cell in notebook.cells
        if cell.cell_type == "markdown"
        for line in cell.source.splitlines()
        if re.match(r"#{2,3} ", line)
    ]


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_pages_fold_every_solution_and_show_no_solution_marker(
    site: Path, executed: dict[str, nbformat.NotebookNode], name: str
) -> None:
    html = (site / f"{name}.html").read_text(encoding="utf-8")
    assert "BEGIN SOLUTION" not in html and "END SOLUTION" not in html
    assert html.count('<details class="course-solution">') == solution_cells(executed[name]) > 0


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_pages_have_a_table_of_contents_of_their_sections(
    site: Path, executed: dict[str, nbformat.NotebookNode], name: str
) -> None:
    html = (site / f"{name}.html").read_text(encoding="utf-8")
    toc = re.search(r'<nav class="course-toc".*?</nav>', html, re.DOTALL)
    assert toc, f"{name}.html has no table of contents"
    entries = re.findall(r'<li class="toc-level-\d"><a href="#[^"]+">(.*?)</a></li>', toc.group(0))
    as_text = [html_module.unescape(re.sub(r"<[^>]+>", "", entry)) for entry in entries]
    assert as_text == [heading.replace("`", "") for heading in section_headings(executed[name])]


def test_index_gives_every_notebook_a_time_estimate_and_a_figure(
    site: Path, executed: dict[str, nbformat.NotebookNode]
) -> None:
    index = (site / "index.html").read_text(encoding="utf-8")
    minutes = [int(value) for value in re.findall(r"About (\d+) minutes to read", index)]
    assert len(minutes) == len(NOTEBOOKS) and all(10 <= value <= 120 for value in minutes)
    with_plots = [name for name in NOTEBOOKS if png_outputs(executed[name])]
    for name in with_plots:
        assert f'src="figures/{name}.png"' in index
        assert (site / "figures" / f"{name}.png").read_bytes().startswith(b"\x89PNG")


def test_student_notebooks_need_only_the_course_package_and_its_pinned_libraries() -> None:
    # What "Download the student notebook" promises: torch and the graders package (which brings numpy,
    # matplotlib and tqdm) are all it needs beyond Python's standard library.
    # An import under `try: ... except ImportError:` is optional (08's playground sliders: ipywidgets).
    allowed = {"graders", "matplotlib", "numpy", "torch", "tqdm", *sys.stdlib_module_names}
    for name in NOTEBOOKS:
        notebook = nbformat.read(NOTEBOOKS_DIR / f"{name}.ipynb", as_version=4)
        source = "\n".join(cell.source for cell in notebook.cells if cell.cell_type == "code")
        imported = set(required_imports(TransformerManager().transform_cell(source)))
        assert imported <= allowed, f"{name} imports {sorted(imported - allowed)}"
    guarded = "try:\n    import ipywidgets\nexcept ImportError:\n    pass\nimport tqdm.auto"
    assert required_imports(guarded) == ["tqdm"]


def required_imports(source: str) -> list[str]:
    """The top-level modules `source` imports, less those under a try that catches ImportError."""
    tree = ast.parse(source)
    optional = {
        id(node)
        for block in ast.walk(tree)
        if isinstance(block, ast.Try)
        and any(
            isinstance(handler.type, ast.Name) and handler.type.id in {"ImportError", "ModuleNotFoundError"}
            for handler in block.handlers
        )
        for statement in block.body
        for node in ast.walk(statement)
    }
    return [
        (alias.name if isinstance(node, ast.Import) else node.module or "").split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        and id(node) not in optional
        and getattr(node, "level", 0) == 0  # a relative import is the notebook's own folder
        for alias in (node.names if isinstance(node, ast.Import) else node.names[:1])
    ]


def test_pages_load_nothing_from_the_network(site: Path) -> None:
    for page in site.glob("*.html"):
        external = re.findall(
            r'<(?:script|link|img)\b[^>]*\b(?:src|href)="((?:https?:)?//[^"]*)"', page.read_text()
        )
        assert external == [], f"{page.name} needs the network for {external}"


def test_a_notebook_without_title_or_objectives_is_refused() -> None:
    notebook = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_markdown_cell("# 09 · Untitled\n\nNo objectives.")]
    )
    with pytest.raises(ValueError, match="09_untitled: .*Learning objectives"):
        describe("09_untitled", notebook)


def test_an_executed_copy_older_than_its_solution_is_refused(tmp_path: Path) -> None:
    executed_dir, solutions_dir = tmp_path / "executed", tmp_path / "solutions"
    executed_dir.mkdir()
    solutions_dir.mkdir()
    stale = executed_dir / "09_topic.ipynb"
    nbformat.write(nbformat.v4.new_notebook(), stale)
    os.utime(stale, (0, 0))
    solution = solutions_dir / "09_topic.ipynb"
    nbformat.write(nbformat.v4.new_notebook(), solution)
    with pytest.raises(SystemExit, match="older than .*solutions/09_topic.ipynb"):
        load_executed([solution], executed_dir)


# In the browser.


@pytest.fixture(scope="session")
def site_url(site: Path) -> Iterator[str]:
    """The site served on this machine's loopback, as a web host would serve it."""
    handler = functools.partial(QuietHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    thread.join()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 -- the base class names it so
        pass


@dataclass
class Visit:
    """One page as Chromium showed it: what rendered, and everything that went wrong on the way."""

    rendered: dict[str, Any]
    problems: list[str] = field(default_factory=list)
    opened_first_fold: bool = False


def visit(browser: Any, url: str, screenshot: Path | None = None) -> Visit:
    """Open url, wait for MathJax; problems: console errors, failed or outside requests, broken links."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    site_root = url.rsplit("/", 1)[0] + "/"
    problems: list[str] = []

    def on_console(message: Any) -> None:
        if message.type == "error":
            problems.append(f"console: {message.text}")

    def on_request(request: Any) -> None:
        if not request.url.startswith((site_root, "data:")):
            problems.append(f"left the site: {request.url}")

    page.on("console", on_console)
    page.on("request", on_request)
    page.on("pageerror", lambda error: problems.append(f"script error: {error}"))
    page.on("requestfailed", lambda request: problems.append(f"failed: {request.url} {request.failure}"))
    response = page.goto(url)
    assert response is not None and response.ok, url
    rendered = page.evaluate(RENDERED)
    for link in rendered["links"]:
        if (
            not link.startswith(("#", "http:", "https:", "mailto:"))
            and not page.request.get(site_root + link).ok
        ):
            problems.append(f"broken link: {link}")
    if screenshot:
        SCREENSHOTS_DIR.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(screenshot), full_page=True)
    opened = bool(rendered["folds"]) and page.evaluate(OPEN_FIRST_FOLD)
    page.close()
    return Visit(rendered, problems, opened)


def test_index_loads_cleanly_and_links_every_page_and_download(browser: Any, site_url: str) -> None:
    index = visit(browser, site_url + "index.html", SCREENSHOTS_DIR / "index.png")
    assert index.problems == []
    assert index.rendered["math"] > 0 and index.rendered["mathErrors"] == 0
    expected = {f"{name}.html" for name in NOTEBOOKS} | {f"notebooks/{name}.ipynb" for name in NOTEBOOKS}
    assert expected <= set(index.rendered["links"])
    assert index.rendered["durations"] == len(NOTEBOOKS)
    assert index.rendered["cardFigures"] and all(width > 0 for width in index.rendered["cardFigures"])


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_page_shows_its_plots_and_math_without_errors(
    browser: Any, site_url: str, executed: dict[str, nbformat.NotebookNode], name: str
) -> None:
    notebook = executed[name]
    showcase = next((other for other in NOTEBOOKS if png_outputs(executed[other])), NOTEBOOKS[0])
    page = visit(
        browser, site_url + f"{name}.html", SCREENSHOTS_DIR / f"{name}.png" if name == showcase else None
    )
    assert page.problems == []
    plots = page.rendered["plots"]
    assert len(plots) == png_outputs(notebook)
    assert all(plot["width"] > 0 and plot["embedded"] for plot in plots), plots
    assert all(plot["width"] >= 1.9 * plot["shown"] for plot in plots), f"plots not high-resolution: {plots}"
    markdown = "\n".join(cell.source for cell in notebook.cells if cell.cell_type == "markdown")
    assert (page.rendered["math"] > 0) == ("$" in markdown)
    assert page.rendered["mathErrors"] == 0
    # A widget needs a kernel: the page shows neither its text stand-in nor a widget error (08's playground
    # shows its still figure, counted with the plots above).
    assert "interactive(children=" not in page.rendered["text"]
    assert "Error displaying widget" not in page.rendered["text"]
    # Solutions folded, closed, their code hidden until opened; no nbgrader marker anywhere in the text.
    assert "BEGIN SOLUTION" not in page.rendered["text"] and "END SOLUTION" not in page.rendered["text"]
    folds = page.rendered["folds"]
    assert len(folds) == solution_cells(notebook) > 0
    assert all(not fold["open"] and not fold["codeShown"] and "try" in fold["summary"] for fold in folds)
    assert page.opened_first_fold
    # A table of contents whose every link lands on a heading of the page.
    toc = page.rendered["toc"]
    assert toc and all(entry["target"] for entry in toc), toc


# A phone and a desktop: on both nothing is clipped and the page never scrolls sideways as a whole (a wide
# line of code or a formula scrolls inside its own box), and no figure is squeezed below a legible width.
VIEWPORT_WIDTHS = {"phone": 390, "desktop": 1280}
LEGIBLE_FIGURE_PX = 576  # site.css: max(100%, 36rem)
LAYOUT = """() => MathJax.startup.promise.then(() => ({
    viewport: document.documentElement.clientWidth,
    page: document.documentElement.scrollWidth,
    clipped: [...document.querySelectorAll("body *")].filter((element) => {
        const overflow = getComputedStyle(element).overflowX;
        // MathJax's copy of each formula for screen readers is clipped on purpose.
        return element.tagName !== "MJX-ASSISTIVE-MML" && element.scrollWidth > element.clientWidth + 1
            && (overflow === "hidden" || overflow === "clip");
    }).map((element) => `${element.tagName.toLowerCase()}.${element.className}`),
    figures: [...document.querySelectorAll(".jp-OutputArea-output img")].filter((img) => img.width > 0)
        .map((img) => ({shown: img.width, natural: img.naturalWidth / 2})),
}))"""


@pytest.mark.parametrize("device", VIEWPORT_WIDTHS)
@pytest.mark.parametrize("page_name", ["index", *NOTEBOOKS])
def test_pages_read_on_a_phone_and_a_desktop(browser: Any, site_url: str, page_name: str, device: str):
    width = VIEWPORT_WIDTHS[device]
    page = browser.new_page(viewport={"width": width, "height": 844})
    page.goto(site_url + f"{page_name}.html")
    layout = page.evaluate(LAYOUT)
    page.close()
    assert layout["page"] <= layout["viewport"] == width, "the page scrolls sideways as a whole"
    assert layout["clipped"] == [], "content cut off instead of scrolling in its box"
    squeezed = [f for f in layout["figures"] if f["shown"] < min(f["natural"], LEGIBLE_FIGURE_PX) - 1]
    assert squeezed == [], f"figures shrunk below a legible width on a {device}"
