"""The course site: each solution notebook rendered with its outputs and plots, and an index to start from.

python -m graders.publishing.build executed   # first: the solutions run, with outputs, into build/executed/
python -m graders.publishing.site             # then: build/site/ (index.html, a page per notebook, downloads)
python -m graders.publishing.site --site-url https://…/   # downloads that install the course wheel from that
address
"""

import argparse
import base64
import copy
import json
import math
import re
import shutil
import sys
from dataclasses import dataclass, replace
from pathlib import Path

import jinja2
import mathjax
import nbformat
from nbconvert import HTMLExporter
from nbconvert.filters.markdown_mistune import markdown2html_mistune
from nbgrader.utils import compute_checksum, is_solution

from graders.classroom.course import solution_notebooks
from graders.core.paths import NOTEBOOKS_DIR, REPO_ROOT
from graders.publishing.build import EXECUTED_DIR
from graders.publishing.learning_path import CONDITIONING_THREAD, path_of

SITE_DIR = REPO_ROOT / "build" / "site"
# `make wheel` builds the course package here; the site serves it beside its index.
WHEEL_DIR = REPO_ROOT / "build" / "wheel"
# The setup cell's line naming the course wheel a notebook run on its own installs ("" in the repository).
COURSE_PACKAGE_LINE = re.compile(r'^COURSE_PACKAGE = ""', re.MULTILINE)
TEMPLATES_DIR = Path(__file__).with_name("templates")
# MathJax's browser build as its release ships it (package django-static-mathjax), the files a CDN serves.
MATHJAX_DIR = Path(mathjax.__file__).parent / "static" / "mathjax" / "es5"
OBJECTIVES_HEADING = "**Learning objectives.**"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
# nbgrader's markers around a solution: the page folds the solution cell and drops the marker lines.
SOLUTION_MARKER = re.compile(r"^[ \t]*### (?:BEGIN|END) SOLUTION[ \t]*(?:\n|$)", re.MULTILINE)
# The lab template's section headings, as the table of contents lists them (h2 and h3).
HEADING = re.compile(r'<h([23]) id="([^"]+)">(.*?)<a class="anchor-link"', re.DOTALL)
TOC_PLACEHOLDER = "<!-- course-toc -->"
# A learner's pace for the time estimate on the index: reading the text, then working each task.
WORDS_PER_MINUTE = 150
MINUTES_PER_TASK = 8


@dataclass(frozen=True)
class Lesson:
    """What the index says about one notebook, taken from its first markdown cell."""

    name: str
    title: str
    introduction: str
    objectives: str
    minutes: int = 0
    figure: str = ""

    @property
    def href(self) -> str:
        """The notebook's page in the site."""
        return f"{self.name}.html"

    @property
    def download(self) -> str:
        """The student notebook's copy in the site."""
        return f"notebooks/{self.name}.ipynb"


@dataclass(frozen=True)
class CoursePackage:
    """The course wheel the site serves, and its public address that downloaded notebooks install from."""

    wheel: Path
    url: str


@dataclass(frozen=True)
class Page:
    """A notebook's page: its lesson, and the lessons before and after it for the navigation bar."""

    lesson: Lesson
    previous: Lesson | None
    next: Lesson | None


def describe(name: str, notebook: nbformat.NotebookNode) -> Lesson:
    """Title, introduction and learning objectives from the first markdown cell (as HTML)."""
    first = next((cell.source for cell in notebook.cells if cell.cell_type == "markdown"), "")
    heading, _, body = first.partition("\n")
    introduction, found, rest = body.partition(OBJECTIVES_HEADING)
    if not heading.startswith("# ") or not found:
        raise ValueError(
            f"{name}: the first markdown cell must open with a '# NN · Title' heading "
            f"and hold a '{OBJECTIVES_HEADING}' paragraph"
        )
    # The objectives end where the next bold-led paragraph ("**How this notebook works.**") begins.
    objectives = markdown2html_mistune(found + rest.split("\n\n**", 1)[0])
    # Plain text for the browser tab and the navigation bar: "02 · torch.optim", not "`torch.optim`".
    title = heading.removeprefix("# ").strip().replace("`", "")
    return Lesson(name, title, markdown2html_mistune(introduction), objectives)


def load_executed(solutions: list[Path], executed_dir: Path) -> dict[str, nbformat.NotebookNode]:
    """The executed copy of every solution, refusing copies that are missing or older than their source."""
    executed = {}
    for solution in solutions:
        copy_path = executed_dir / solution.name
        if not copy_path.exists() or copy_path.stat().st_mtime < solution.stat().st_mtime:
            raise SystemExit(
                f"{copy_path} is missing or older than {solution}: "
                "run `make site` (or `python -m graders.publishing.build executed` first)"
            )
        executed[solution.stem] = nbformat.read(copy_path, as_version=4)
    return executed


def estimate_minutes(notebook: nbformat.NotebookNode) -> int:
    """Time to read the notebook and do its tasks, rounded up to 5 minutes."""
    words = sum(len(cell.source.split()) for cell in notebook.cells if cell.cell_type == "markdown")
    tasks = sum(1 for cell in notebook.cells if cell.cell_type == "code" and is_solution(cell))
    return 5 * math.ceil((words / WORDS_PER_MINUTE + tasks * MINUTES_PER_TASK) / 5)


def first_figure(notebook: nbformat.NotebookNode) -> bytes | None:
    """The notebook's first plot as PNG bytes, for its card on the index."""
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            if "image/png" in output.get("data", {}):
                return base64.b64decode(output["data"]["image/png"])
    return None


def build_site(
    executed: dict[str, nbformat.NotebookNode], out_dir: Path, package: CoursePackage | None = None
) -> None:
    """Write the index, one page per notebook (in the given order), the downloads and MathJax to out_dir;
    with `package`, the wheel too, and downloads whose setup cell installs it from its address."""
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "figures").mkdir(exist_ok=True)
    lessons = []
    for name, notebook in executed.items():
        figure = first_figure(notebook)
        if figure is not None:
            (out_dir / "figures" / f"{name}.png").write_bytes(figure)
        lessons.append(
            replace(
                describe(name, notebook),
                minutes=estimate_minutes(notebook),
                figure=f"figures/{name}.png" if figure is not None else "",
            )
        )
    exporter = notebook_exporter()
    for page in map(Page, lessons, [None, *lessons], [*lessons[1:], None]):
        html = render_notebook(exporter, executed[page.lesson.name], page)
        (out_dir / page.lesson.href).write_text(html, encoding="utf-8")
    (out_dir / "index.html").write_text(render_index(lessons, package), encoding="utf-8")
    copy_assets(lessons, out_dir, package)


def notebook_exporter() -> HTMLExporter:
    """nbconvert's lab template with the course's navigation and offline MathJax; every image embedded."""
    return HTMLExporter(
        template_name="lab",
        template_file="course_notebook.html.j2",
        extra_template_paths=[str(TEMPLATES_DIR)],
        embed_images=True,
    )


def render_notebook(exporter: HTMLExporter, notebook: nbformat.NotebookNode, page: Page) -> str:
    """One notebook as a standalone HTML page."""
    resources = {"metadata": {"name": page.lesson.title}, "page": page}
    html, _ = exporter.from_notebook_node(for_reading(notebook), resources=resources)
    return html.replace(TOC_PLACEHOLDER, table_of_contents(html), 1)


def for_reading(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A copy for the page: no widget views, and solution cells without nbgrader's marker lines.

    The template folds each solution cell (metadata nbgrader.solution) into a <details> element.
    """
    static = without_widgets(notebook)
    for cell in static.cells:
        if cell.cell_type == "code" and is_solution(cell):
            cell.source = SOLUTION_MARKER.sub("", cell.source)
    return static


def table_of_contents(html: str) -> str:
    """A list of links to the page's section headings (##, ###), in order."""
    entries = HEADING.findall(html)
    if not entries:
        return ""
    items = "\n".join(
        f'<li class="toc-level-{level}"><a href="#{anchor}">{text.strip()}</a></li>'
        for level, anchor, text in entries
    )
    title = '<p class="toc-title">On this page</p>'
    return f'<nav class="course-toc" aria-label="On this page">\n{title}\n<ul>\n{items}\n</ul>\n</nav>'


def without_widgets(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A copy without widget views: progress bars need a live kernel, and their script loads from a CDN."""
    static = copy.deepcopy(notebook)
    static.metadata.pop("widgets", None)
    for cell in static.cells:
        if cell.cell_type == "code":
            cell.outputs = [output for output in cell.outputs if WIDGET_VIEW not in output.get("data", {})]
    return static


def render_index(lessons: list[Lesson], package: CoursePackage | None = None) -> str:
    """The index page: how to start, then every notebook with what it teaches."""
    environment = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES_DIR), autoescape=True)
    titles = {lesson.name: lesson.title for lesson in lessons}
    path = path_of(list(titles))
    return environment.get_template("course_index.html.j2").render(
        lessons=lessons, path=path, titles=titles, thread=CONDITIONING_THREAD, package=package
    )


def copy_assets(lessons: list[Lesson], out_dir: Path, package: CoursePackage | None = None) -> None:
    """Copy the student notebooks (naming the course wheel's address), the wheel, the stylesheet and MathJax
    next to the pages."""
    downloads = out_dir / "notebooks"
    downloads.mkdir(exist_ok=True)
    for lesson in lessons:
        student = NOTEBOOKS_DIR / f"{lesson.name}.ipynb"
        if not student.exists():
            raise SystemExit(f"notebooks/{student.name} is missing: run `make student`")
        if package is None:
            shutil.copyfile(student, downloads / student.name)
        else:
            nbformat.write(
                installing_from(nbformat.read(student, as_version=4), package.url), downloads / student.name
            )
    if package is not None:
        shutil.copyfile(package.wheel, out_dir / package.wheel.name)
    shutil.copyfile(TEMPLATES_DIR / "site.css", out_dir / "site.css")
    shutil.copytree(MATHJAX_DIR, out_dir / "mathjax", dirs_exist_ok=True)


def installing_from(notebook: nbformat.NotebookNode, url: str) -> nbformat.NotebookNode:
    """A copy of a student notebook whose setup cell installs the course package from `url` when missing
    (the locked cell's checksum follows, so nbgrader still accepts it)."""
    copied = copy.deepcopy(notebook)
    for cell in copied.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "setup":
            cell.source, found = COURSE_PACKAGE_LINE.subn(f"COURSE_PACKAGE = {json.dumps(url)}", cell.source)
            if found == 1:
                cell.metadata.nbgrader.checksum = compute_checksum(cell)
                return copied
    raise SystemExit(f"no setup cell with a line '{COURSE_PACKAGE_LINE.pattern[1:]}' in a student notebook")


def course_package(site_url: str) -> CoursePackage:
    """The wheel `make wheel` built, at its address under `site_url`."""
    wheels = sorted(WHEEL_DIR.glob("gd_torch_course-*.whl"))
    if len(wheels) != 1:
        raise SystemExit(f"{WHEEL_DIR} holds {len(wheels)} course wheels, not one: run `make wheel`")
    return CoursePackage(wheels[0], f"{site_url.rstrip('/')}/{wheels[0].name}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m graders.publishing.site", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--site-url", help="the site's public address, which downloaded notebooks install from"
    )
    args = parser.parse_args(argv)
    executed = load_executed(solution_notebooks(), EXECUTED_DIR)
    package = course_package(args.site_url) if args.site_url else None
    # Pages of notebooks that were renamed or removed must not linger.
    shutil.rmtree(SITE_DIR, ignore_errors=True)
    build_site(executed, SITE_DIR, package)
    print(f"wrote {(SITE_DIR / 'index.html').relative_to(REPO_ROOT)} and {len(executed)} notebook pages")
    if package is None:
        print(
            "note: without --site-url (make site SITE_URL=…) downloaded notebooks cannot install the course"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
