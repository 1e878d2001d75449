"""The student's loop in JupyterLab, driven by headless Chromium: open a notebook from the file browser,
Run → Run All Cells, File → Save Notebook, Close and Shut Down Notebook; then the next notebooks of the same
folder; then reopen them all, each with a new kernel, and see what the saved outputs look like. In 08's
playground the student picks another bowl before saving; the course's JupyterLab saves widget state (its
settings, written by `make setup`), so the reopened playground shows that choice and its figure.

The student's copies are the student notebooks with each `# YOUR CODE HERE` stub replaced by the lines
between `### BEGIN SOLUTION` and `### END SOLUTION` of the solution cell with the same nbgrader grade_id.
"""

import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat
import psutil
import pytest

from graders.classroom.course import solution_notebooks
from graders.core.loader import load_answers
from graders.core.paths import NOTEBOOKS_DIR
from graders.core.specs import specs_for

# Every test here starts JupyterLab.
pytestmark = pytest.mark.slow

# Run in this order, in one folder: each must leave the answer files of those before it alone.
RUN = ["00_autograd", "01_gradient_steps", "08_adam_by_hand"]
# The notebook with the live playground (ipywidgets interact), and the bowl the student switches it to.
PLAYGROUND = "08_adam_by_hand"
PLAYGROUND_BOWL = "narrow valley"
START_TIMEOUT = 60  # seconds; the server and the page each take a few on a loaded 2-core machine
RUN_TIMEOUT = 90  # seconds for Run All Cells of one notebook, torch import included
STUB = ["# YOUR CODE HERE", "raise NotImplementedError()"]
# A traceback, and the one red line graders.core.student shows instead of one for a stub or a skipped task.
ERROR_SIGNS = ["Traceback", "Error:", "fill in # YOUR CODE HERE", "run the task cell that defines it first"]
LOADING_WIDGET = "Loading widget..."
WIDGET_ERRORS = ["Error displaying widget", "model not found"]
SCREENSHOTS_DIR = Path(__file__).resolve().parents[1] / "build" / "jupyterlab-screenshots"
# Pre-answered in the lab's private settings: no "official Jupyter news?" toast over the notebook, no
# request for news or updates.
USER_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
}
# The notebook on screen (the dock panel's current tab), as the page shows it: per cell its prompt and
# the text and pictures of its outputs; the kernel's state from the notebook's toolbar.
NOTEBOOK_STATE = """() => {
    const panel = document.querySelector("#jp-main-dock-panel .jp-NotebookPanel:not(.lm-mod-hidden)");
    if (panel === null) return null;
    return {
        status: panel.querySelector(".jp-Notebook-ExecutionIndicator")?.dataset.status ?? null,
        cells: [...panel.querySelectorAll(".jp-Notebook .jp-Cell")].map((cell) => ({
            code: cell.classList.contains("jp-CodeCell"),
            prompt: cell.querySelector(".jp-InputArea-prompt")?.textContent.trim() ?? "",
            output: [...cell.querySelectorAll(".jp-OutputArea-output")].map((o) => o.textContent).join("\\n"),
            images: cell.querySelectorAll(".jp-OutputArea-output img").length,
        })),
    };
}"""
SHOWN = """() => [...document.querySelectorAll(".jp-OutputArea, .jp-Dialog, .Toastify")]
    .map((element) => element.textContent).join("\\n")"""
# The prebuilt lab extensions the page loaded (from the venv's share/jupyter/labextensions).
EXTENSIONS = """() => JSON.parse(document.getElementById("jupyter-config-data").textContent)
    .federated_extensions.map((extension) => extension.name)"""
EXECUTED = re.compile(r"^\[\d+\]:$")
# A finished text bar: "skewed: 100%|██████████| 500/500 [00:01<00:00, 390.26it/s]".
PROGRESS_BAR = re.compile(r"100%\|█+\| (\d+)/\1 ")
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
CURRENT_PANEL = "#jp-main-dock-panel .jp-NotebookPanel:not(.lm-mod-hidden)"
# The playground's controls and its live figure: the image in the interact widget's output area.
INTERACT = f"{CURRENT_PANEL} .widget-interact"
LIVE_FIGURE = f"{INTERACT} .jp-OutputArea-output img"
# What the playground shows: the bowl chosen in its first dropdown (ipywidgets spaces its labels with
# no-break spaces), its sliders, its live figures.
PLAYGROUND_STATE = """(interact) => ({
    bowl: document.querySelector(`${interact} select`)?.selectedOptions[0]?.textContent
        .replaceAll("\\u00a0", " ") ?? null,
    sliders: document.querySelectorAll(`${interact} .widget-slider`).length,
    figures: document.querySelectorAll(`${interact} .jp-OutputArea-output img`).length,
})"""
REDRAWN = "([figure, before]) => (document.querySelector(figure)?.getAttribute('src') ?? before) !== before"


def filled_in(name: str) -> nbformat.NotebookNode:
    """The student notebook `name` with every stub replaced by its solution's lines, matched by grade_id."""
    student = nbformat.read(NOTEBOOKS_DIR / f"{name}.ipynb", as_version=4)
    solution_path = next(path for path in solution_notebooks() if path.stem == name)
    solutions = {
        cell.metadata["nbgrader"]["grade_id"]: cell.source
        for cell in nbformat.read(solution_path, as_version=4).cells
        if cell.metadata.get("nbgrader", {}).get("solution")
    }
    tasks = [cell for cell in student.cells if cell.metadata.get("nbgrader", {}).get("solution")]
    assert tasks and {cell.metadata.nbgrader.grade_id for cell in tasks} == set(solutions), name
    for cell in tasks:
        solution = solutions[cell.metadata.nbgrader.grade_id]
        lines = cell.source.splitlines()
        at = next(i for i, line in enumerate(lines) if line.strip() == STUB[0])
        assert [line.strip() for line in lines[at : at + 2]] == STUB, cell.source
        body = re.search(r"^[ \t]*### BEGIN SOLUTION\n(.*?)^[ \t]*### END SOLUTION$", solution, re.M | re.S)
        assert body, f"{name}: no solution markers in {cell.metadata.nbgrader.grade_id}"
        cell.source = "\n".join([*lines[:at], body.group(1).rstrip("\n"), *lines[at + 2 :]])
        # What the student wrote is what the solution holds, less its markers.
        markers = ("### BEGIN SOLUTION", "### END SOLUTION")
        unmarked = "\n".join(line for line in solution.splitlines() if line.strip() not in markers)
        assert cell.source == unmarked, cell.metadata.nbgrader.grade_id
    return student


@dataclass
class Lab:
    url: str
    token: str
    root: Path
    log: Path


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """`jupyter lab` from the venv on a copy of notebooks/ with 00 and 01 filled in; its own config, data
    and runtime folders (the venv's kernels and lab extensions stay visible). Stopped with its kernels."""
    base = tmp_path_factory.mktemp("jupyterlab")
    root = base / "notebooks"
    shutil.copytree(NOTEBOOKS_DIR, root, ignore=shutil.ignore_patterns("*.answer.json", ".*"))
    for name in RUN:
        nbformat.write(filled_in(name), root / f"{name}.ipynb")
    for relative, values in USER_SETTINGS.items():
        path = base / "config" / "lab" / "user-settings" / relative
        path.parent.mkdir(parents=True)
        path.write_text(json.dumps(values), encoding="utf-8")
    env = {
        key: value
        for key, value in os.environ.items()
        # Whatever points Jupyter, IPython or matplotlib at the machine's own set-up, or grading elsewhere.
        if not key.startswith(("JUPYTER", "IPYTHON", "MPL", "GRADERS_")) and key != "PYTHONSTARTUP"
    }
    env |= {
        "JUPYTER_CONFIG_DIR": str(base / "config"),
        "JUPYTER_DATA_DIR": str(base / "data"),
        "JUPYTER_RUNTIME_DIR": str(base / "runtime"),
        "IPYTHONDIR": str(base / "ipython"),
        "MPLCONFIGDIR": str(base / "matplotlib"),
    }
    token = secrets.token_hex(16)
    log = base / "jupyterlab.log"
    with log.open("wb") as log_file:
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "jupyter",
                "lab",
                "--no-browser",
                "--ServerApp.ip=127.0.0.1",
                "--ServerApp.port=0",
                f"--IdentityProvider.token={token}",
                f"--ServerApp.root_dir={root}",
                "--ServerApp.allow_root=True",  # CI containers run as root
                "--LabApp.news_url=None",
                "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
            ],
            cwd=root,  # where a student starts it; nbgrader's lab extensions want the course folder there
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield Lab(wait_for_server(server, base / "runtime", token, log), token, root, log)
    finally:
        stop(server)


def wait_for_server(server: subprocess.Popen, runtime: Path, token: str, log: Path) -> str:
    """The server's URL once its REST API answers (the port comes from its runtime file)."""
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"jupyter lab exited with {server.returncode}:\n{log.read_text()[-3000:]}")
        for info_file in runtime.glob(f"jpserver-{server.pid}.json"):
            url = json.loads(info_file.read_text())["url"]
            try:
                with urllib.request.urlopen(f"{url}api/status?token={token}", timeout=5) as response:
                    if response.status == 200:
                        return url
            except OSError:
                pass
        time.sleep(0.2)
    pytest.fail(f"jupyter lab did not answer within {START_TIMEOUT} s:\n{log.read_text()[-3000:]}")


def stop(server: subprocess.Popen) -> None:
    """SIGTERM to the server's process group (the server then shuts its kernels down); after a grace
    period SIGKILL to that group and to the kernels', which run in sessions of their own."""
    try:
        processes = [psutil.Process(server.pid), *psutil.Process(server.pid).children(recursive=True)]
    except psutil.NoSuchProcess:
        processes = []
    groups = set()
    for process in processes:
        with contextlib.suppress(ProcessLookupError):
            groups.add(os.getpgid(process.pid))
    with contextlib.suppress(ProcessLookupError):
        os.killpg(server.pid, signal.SIGTERM)
    _, alive = psutil.wait_procs(processes, timeout=20)
    if alive:
        for group in groups:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(group, signal.SIGKILL)
        _, alive = psutil.wait_procs(alive, timeout=5)
    with contextlib.suppress(subprocess.TimeoutExpired):
        server.wait(timeout=5)
    assert not alive, f"jupyter lab left processes behind: {[process.pid for process in alive]}"


@dataclass
class Seen:
    """One notebook as the student saw it: after Run All Cells, and reopened after saving."""

    name: str
    grade_ids: list[str]
    after_run: list[dict[str, Any]]
    shown: dict[str, str]
    listed: list[str]
    answer_bytes: bytes
    saved: nbformat.NotebookNode
    reopened: list[dict[str, Any]] = field(default_factory=list)
    # The playground as shown after the student moved it, and once reopened (empty without one).
    playground: dict[str, Any] = field(default_factory=dict)
    playground_reopened: dict[str, Any] = field(default_factory=dict)


@dataclass
class StudentLoop:
    root: Path
    build: dict[str, str]
    extensions: list[str]
    seen: dict[str, Seen]
    answers_at_end: dict[str, bytes]
    listed_at_end: list[str]
    problems: list[str] = field(default_factory=list)


@pytest.fixture(scope="module")
def loop(browser: Any, lab: Lab) -> StudentLoop:
    """Both notebooks run, saved and closed one after the other in one JupyterLab page, then reopened."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"script error: {error}"))
    page.on(
        "console",
        lambda message: problems.append(f"console: {message.text}") if message.type == "error" else None,
    )
    page.on(
        "request",
        lambda request: (
            None
            if request.url.startswith((lab.url, lab.url.replace("http", "ws", 1), "data:", "blob:"))
            else problems.append(f"left the server: {request.url}")
        ),
    )
    page.set_default_timeout(START_TIMEOUT * 1000)
    try:
        page.goto(f"{lab.url}lab?token={lab.token}")
        page.locator(".jp-DirListing-item").first.wait_for()
        build = api(lab, "lab/api/build")
        extensions = page.evaluate(EXTENSIONS)
        seen = {name: run_save_and_close(page, lab, name) for name in RUN}
        answers_at_end = {name: (lab.root / f"{name}.answer.json").read_bytes() for name in RUN}
        # Both reopened at once, so that their new kernels start side by side.
        for name in RUN:
            open_from_file_browser(page, lab, name)
        for name in RUN:
            page.locator(".lm-TabBar-tab").filter(has_text=f"{name}.ipynb").click()
            wait_for_kernel(page, lab, name)
            seen[name].reopened = settled(page, name)
            if name == PLAYGROUND:
                seen[name].playground_reopened = page.evaluate(PLAYGROUND_STATE, INTERACT)
            seen[name].shown["reopened after saving"] = shown_text(page)
            assert len(seen[name].reopened) == len(seen[name].grade_ids), f"{name} reopened with other cells"
        return StudentLoop(lab.root, build, extensions, seen, answers_at_end, listed_files(page), problems)
    except Exception:
        SCREENSHOTS_DIR.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS_DIR / "failure.png"))
        print(f"screenshot: {SCREENSHOTS_DIR / 'failure.png'}; server log:\n{lab.log.read_text()[-5000:]}")
        raise
    finally:
        page.close()


def run_save_and_close(page: Any, lab: Lab, name: str) -> Seen:
    """Open `name` from the file browser, Run → Run All Cells, File → Save Notebook, then File → Close and
    Shut Down Notebook: as after a restart of the machine, what a widget needs is gone with the kernel."""
    open_from_file_browser(page, lab, name)
    wait_for_kernel(page, lab, name)
    menu(page, "Run", "Run All Cells")
    after_run = wait_for_run_all(page, name)
    playground = {}
    if name == PLAYGROUND:
        playground = move_playground(page)
        after_run = settled(page, name)
    text_after_run = shown_text(page)
    menu(page, "File", "Save Notebook")
    page.locator(".lm-TabBar-tab.jp-mod-current:not(.jp-mod-dirty)").wait_for()
    saved = nbformat.read(lab.root / f"{name}.ipynb", as_version=4)
    answer = lab.root / f"{name}.answer.json"
    assert answer.is_file(), f"Run All Cells of {name} wrote no {answer.name}"
    # Saving refreshes the file browser, which then lists the answer file the kernel wrote.
    file_item(page, answer.name).wait_for()
    listed = listed_files(page)
    menu(page, "File", "Close and Shut Down Notebook…")
    page.locator(".jp-Dialog .jp-mod-warn").click()
    page.locator(".lm-TabBar-tab").filter(has_text=f"{name}.ipynb").wait_for(state="detached")
    wait_for_no_kernel(lab, name)
    grade_ids = [cell.metadata.get("nbgrader", {}).get("grade_id", "") for cell in saved.cells]
    assert len(after_run) == len(grade_ids), f"the page shows {name} with other cells than its file"
    return Seen(
        name,
        grade_ids,
        after_run,
        {"after Run All Cells": text_after_run},
        listed,
        answer.read_bytes(),
        saved,
        playground=playground,
    )


def move_playground(page: Any) -> dict[str, Any]:
    """Pick PLAYGROUND_BOWL in the playground's bowl dropdown, as a student would, and wait until the live
    figure is drawn again; what the playground then shows."""
    page.locator(LIVE_FIGURE).wait_for()
    before = page.locator(LIVE_FIGURE).get_attribute("src")
    page.locator(f"{INTERACT} select").first.select_option(label=PLAYGROUND_BOWL)
    page.wait_for_function(REDRAWN, arg=[LIVE_FIGURE, before])
    return page.evaluate(PLAYGROUND_STATE, INTERACT)


def file_item(page: Any, filename: str) -> Any:
    return page.locator(".jp-DirListing-itemText").get_by_text(filename, exact=True)


def listed_files(page: Any) -> list[str]:
    return [text.strip() for text in page.locator(".jp-DirListing-itemText").all_text_contents()]


def open_from_file_browser(page: Any, lab: Lab, name: str) -> None:
    """Double-click the notebook in the file browser; wait until all its cells are on the page."""
    cells = len(nbformat.read(lab.root / f"{name}.ipynb", as_version=4).cells)
    file_item(page, f"{name}.ipynb").dblclick()
    page.locator(".lm-TabBar-tab.jp-mod-current").filter(has_text=f"{name}.ipynb").wait_for()
    page.wait_for_function(f"() => ({NOTEBOOK_STATE})()?.cells.length === {cells}")


def settled(page: Any, name: str) -> list[dict[str, Any]]:
    """The notebook's cells once their outputs are all drawn (a widget's only once the kernel has told
    the page which widgets it has) and stay as they are for half a second."""
    previous = None
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        state = notebook_state(page)
        if state == previous and not any(LOADING_WIDGET in cell["output"] for cell in state):
            return state
        previous = state
        time.sleep(0.5)
    pytest.fail(f"{name} kept changing on the page for {START_TIMEOUT} s after opening")


def api(lab: Lab, path: str) -> Any:
    with urllib.request.urlopen(f"{lab.url}{path}?token={lab.token}", timeout=10) as response:
        return json.load(response)


def sessions(lab: Lab, name: str) -> list[dict[str, Any]]:
    """The server's sessions of notebook `name`, each with its kernel's state."""
    return [session for session in api(lab, "api/sessions") if session["path"] == f"{name}.ipynb"]


def wait_for_no_kernel(lab: Lab, name: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while sessions(lab, name):
        if time.monotonic() > deadline:
            pytest.fail(f"the kernel of {name} outlived Close and Shut Down Notebook: {sessions(lab, name)}")
        time.sleep(0.25)


def wait_for_kernel(page: Any, lab: Lab, name: str) -> None:
    """The notebook's kernel started, connected to the page and idle. The toolbar alone says "idle" before
    the kernel exists, and Run All Cells then does nothing, so the server is asked too."""
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        kernels = [session["kernel"] for session in sessions(lab, name)]
        ready = any(kernel["connections"] > 0 and kernel["execution_state"] == "idle" for kernel in kernels)
        if ready and page.evaluate(f"() => ({NOTEBOOK_STATE})()?.status") == "idle":
            return
        time.sleep(0.25)
    pytest.fail(f"the kernel of {name} was not ready within {START_TIMEOUT} s: {sessions(lab, name)}")


def menu(page: Any, title: str, item: str) -> None:
    """Click a menu of the menu bar, then one of its items, by their labels."""
    page.locator(".lm-MenuBar-itemLabel").get_by_text(title, exact=True).click()
    page.locator(".lm-Menu-itemLabel").get_by_text(item, exact=True).click()


def notebook_state(page: Any) -> list[dict[str, Any]]:
    return page.evaluate(NOTEBOOK_STATE)["cells"]


def shown_text(page: Any) -> str:
    """What the page shows besides notebook sources: outputs of every open notebook, dialogs, toasts."""
    return page.evaluate(SHOWN)


def wait_for_run_all(page: Any, name: str) -> list[dict[str, Any]]:
    """Poll until every code cell has run and the kernel is idle; fail early if the run stopped short."""
    deadline = time.monotonic() + RUN_TIMEOUT
    while time.monotonic() < deadline:
        state = page.evaluate(NOTEBOOK_STATE)
        prompts = [cell["prompt"] for cell in state["cells"] if cell["code"]]
        done = all(EXECUTED.match(prompt) for prompt in prompts)
        queued = any("*" in prompt for prompt in prompts)
        started = any(EXECUTED.match(prompt) for prompt in prompts)
        if state["status"] == "idle" and done:
            return state["cells"]
        if state["status"] == "idle" and started and not queued:
            outputs = "\n".join(cell["output"] for cell in state["cells"] if cell["output"])
            pytest.fail(f"Run All Cells of {name} stopped before the end: {prompts}\n{outputs[-3000:]}")
        time.sleep(0.25)
    pytest.fail(f"Run All Cells of {name} did not finish within {RUN_TIMEOUT} s: {prompts}")


def cells_of(seen: Seen, prefix: str) -> dict[str, str]:
    """Output text after Run All Cells of the cells whose grade_id starts with prefix, by grade_id."""
    return {
        grade_id: cell["output"]
        for grade_id, cell in zip(seen.grade_ids, seen.after_run, strict=True)
        if grade_id.startswith(prefix)
    }


@pytest.mark.parametrize("name", RUN)
def test_run_all_cells_runs_every_cell_without_a_traceback(loop: StudentLoop, name: str) -> None:
    seen = loop.seen[name]
    code = [cell for cell in seen.after_run if cell["code"]]
    assert code and all(EXECUTED.match(cell["prompt"]) for cell in code)
    saved_code = [cell for cell in seen.saved.cells if cell.cell_type == "code"]
    assert all(cell.execution_count for cell in saved_code), "saved before every cell had run"
    errors = [output for cell in saved_code for output in cell.outputs if output.output_type == "error"]
    assert errors == [], f"error outputs in the saved {name}: {errors}"
    for moment, text in seen.shown.items():
        for sign in ERROR_SIGNS:
            assert sign not in text, f"{sign!r} on the page {moment} ({name})"


@pytest.mark.parametrize("name", RUN)
def test_every_check_cell_shows_ticks_only(loop: StudentLoop, name: str) -> None:
    checks = cells_of(loop.seen[name], "check-")
    assert checks
    for grade_id, output in checks.items():
        marked = [line for line in output.splitlines() if line.startswith(("✓", "✗"))]
        assert marked and all(line.startswith("✓") for line in marked), f"{grade_id}: {output}"


@pytest.mark.parametrize("name", RUN)
def test_every_graded_cell_shows_full_points(loop: StudentLoop, name: str) -> None:
    seen = loop.seen[name]
    points = {
        cell.metadata.nbgrader.grade_id: cell.metadata.nbgrader.points
        for cell in seen.saved.cells
        if cell.metadata.get("nbgrader", {}).get("grade")
    }
    shown = cells_of(seen, "test-")
    assert set(shown) == set(points) and points
    for grade_id, output in shown.items():
        assert f"{points[grade_id]:g}/{points[grade_id]:g} points" in output, f"{grade_id}: {output}"
        assert "✗" not in output, f"{grade_id}: {output}"


@pytest.mark.parametrize("name", RUN)
def test_the_dump_cell_saves_every_answer_to_the_notebooks_own_file(loop: StudentLoop, name: str) -> None:
    (dumped,) = cells_of(loop.seen[name], "dump-answers").values()
    keys = list(specs_for(name))
    assert f"saved {len(keys)} of {len(keys)} answers to {name}.answer.json" in dumped
    assert "missing" not in dumped
    assert set(keys) <= set(load_answers(loop.root / f"{name}.answer.json"))


def test_each_answer_file_is_listed_and_running_the_next_notebook_leaves_the_first_alone(
    loop: StudentLoop,
) -> None:
    first = RUN[0]
    assert f"{first}.answer.json" in loop.seen[first].listed
    assert {f"{name}.answer.json" for name in RUN} <= set(loop.listed_at_end)
    for name in RUN:
        assert loop.answers_at_end[name] == loop.seen[name].answer_bytes, f"a later notebook rewrote {name}'s"


@pytest.mark.parametrize("name", RUN)
def test_outputs_survive_saving_closing_and_reopening(loop: StudentLoop, name: str) -> None:
    seen = loop.seen[name]
    for moment, text in seen.shown.items():
        for error in WIDGET_ERRORS:
            assert error not in text, f"{error!r} on the page {moment} ({name})"
    for before, after, grade_id in zip(seen.after_run, seen.reopened, seen.grade_ids, strict=True):
        assert (after["output"], after["images"]) == (before["output"], before["images"]), grade_id
    views = [
        output.data[WIDGET_VIEW]["model_id"]
        for cell in seen.saved.cells
        for output in cell.get("outputs", [])
        if WIDGET_VIEW in output.get("data", {})
    ]
    assert bool(views) == (name == PLAYGROUND), f"widget outputs in the saved {name}: {views}"
    # Reopened, a widget view shows only what the notebook's saved widget state holds for it.
    state = seen.saved.metadata.get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    assert set(views) <= set(state), f"{name} saved widget views without their state"
    bars = [cell["output"] for cell in seen.reopened if PROGRESS_BAR.search(cell["output"])]
    imports_tqdm = any(
        re.search(r"^(from tqdm|import tqdm)", cell.source, re.MULTILINE)
        for cell in seen.saved.cells
        if cell.cell_type == "code"
    )
    assert bool(bars) == imports_tqdm, f"{name}: progress bars after reopening: {bars}"


def test_jupyterlab_needs_no_build_and_loads_the_widget_and_nbgrader_extensions(loop: StudentLoop) -> None:
    # JupyterLab 4 runs prebuilt extensions as they are; "needed" would mean one wants a source build.
    assert loop.build["status"] == "stable", f"JupyterLab asks for a build: {loop.build['message']}"
    assert {"@jupyter-widgets/jupyterlab-manager", "@jupyter/nbgrader"} <= set(loop.extensions), (
        loop.extensions
    )


def test_the_page_had_no_script_errors_and_stayed_on_this_machine(loop: StudentLoop) -> None:
    assert loop.problems == []


def test_the_playground_reopens_as_the_student_left_it(loop: StudentLoop) -> None:
    seen = loop.seen[PLAYGROUND]
    moved = {"bowl": PLAYGROUND_BOWL, "sliders": 4, "figures": 1}
    assert seen.playground == moved, f"after picking {PLAYGROUND_BOWL!r}: {seen.playground}"
    assert seen.playground_reopened == moved, f"reopened: {seen.playground_reopened}"
    # Under the sliders the still default figure, there whether or not the widgets are.
    (still,) = [
        output
        for cell in seen.saved.cells
        if cell.get("id") == "playground-sliders"
        for output in cell.outputs
        if "image/png" in output.get("data", {})
    ]
    assert still.data["image/png"]


def test_the_course_jupyterlab_saves_widget_state(lab: Lab) -> None:
    # The course's own setting (make setup: the venv's share/jupyter/lab/settings/overrides.d), not the
    # student's: the lab here has private user settings that say nothing about widgets.
    plugin = api(lab, "lab/api/settings/@jupyter-widgets/jupyterlab-manager:plugin")
    assert plugin["schema"]["properties"]["saveState"]["default"] is True, plugin["schema"]
    assert "saveState" not in plugin["raw"]
