"""The fast path: a folder of answer files, hostile ones included, graded into rows, feedback and a CSV."""

import base64
import csv
import gzip
import json
import os
from pathlib import Path

import pytest

from graders.__main__ import main
from graders.classroom.report_rows import GRADES_COLUMNS, fast_path_row, score_table
from graders.classroom.roster import Student
from graders.core.paths import answers_dir
from graders.core.scoring import grade_folder
from graders.core.specs import specs_for

NOTEBOOK = "00_autograd"
MAX_SCORE = sum(spec.points for spec in specs_for(NOTEBOOK).values())


def reference_text() -> str:
    return (answers_dir() / f"{NOTEBOOK}.json").read_text(encoding="utf-8")


def with_value(key: str, value: object) -> bytes:
    """The reference answers with one key replaced by a crafted value."""
    answers = json.loads(reference_text())
    answers[key] = value
    return json.dumps(answers).encode()


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


TENSOR = {"__instance_type__": ["torch", "Tensor"], "attributes": {}}

# student id -> (answer file bytes, text the problem must contain, score the file still earns)
HOSTILE_FILES = {
    "instance_type": (
        with_value(
            "X_grad", {"__instance_type__": ["os", "system"], "attributes": {"command": "touch pwned"}}
        ),
        "stored Python object",
        5,
    ),
    "enum": (with_value("X_grad", {"__enum__": {"__enum_instance_type__": ["os", "sep"]}}), "__enum__", 5),
    "dtype_load": (
        with_value("X_grad", {"__ndarray__": "x.npy", "dtype": "load", "shape": []}),
        "dtype 'load'",
        5,
    ),
    "object_dtype": (
        with_value("X_grad", {"__ndarray__": [], "dtype": "object", "shape": [100_000, 100_000]}),
        "dtype 'object'",
        5,
    ),
    "b64_gz": (
        with_value(
            "X_grad",
            {
                "__ndarray__": "b64.gz:" + base64.b64encode(gzip.compress(bytes(10**6))).decode(),
                "dtype": "uint8",
                "shape": [10**6],
            },
        ),
        "compressed arrays",
        5,
    ),
    "gzip_file": (gzip.compress(reference_text().encode()), "gzip-compressed", 0),
    "huge_file": (b'{"X_grad": "' + b"x" * (21 * 2**20) + b'"}', "larger than", 0),
    "deep_nesting": (f'{{"X_grad": {nested(100_000)}}}'.encode(), "nested deeper", 0),
    "not_json": (b"this is not JSON", "not valid JSON", 0),
    "not_utf8": (b'{"X_grad": "\xff\xfe"}', "not UTF-8", 0),
    "empty": (b"", "empty", 0),
    "json_list": (b"[1, 2, 3]", "JSON object", 0),
    "html_in_key": (
        with_value("X_grad", {"__instance_type__": ["<script>alert(1)</script>", "x"]}),
        "<script>",
        5,
    ),
}


@pytest.fixture(scope="module")
def hostile_class(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One student per hostile file, one honest student, and one answer file that is a directory."""
    root = tmp_path_factory.mktemp("answers")
    for student, (content, _, _) in {**HOSTILE_FILES, "honest": (reference_text().encode(), "", 7)}.items():
        folder = root / student / NOTEBOOK
        folder.mkdir(parents=True)
        (folder / ".answer.json").write_bytes(content)
    (root / "directory" / NOTEBOOK / ".answer.json").mkdir(parents=True)
    return root


def test_every_hostile_file_gets_a_row_with_a_clear_problem(hostile_class: Path) -> None:
    submissions = {sub.student: sub for sub in grade_folder(hostile_class, [NOTEBOOK])}
    assert set(submissions) == {*HOSTILE_FILES, "honest", "directory"}
    for student, (_, problem, score) in HOSTILE_FILES.items():
        assert problem in submissions[student].problem, student
        assert submissions[student].score == score, student
    assert submissions["honest"].problem == "" and submissions["honest"].score == MAX_SCORE
    assert submissions["directory"].problem == "missing .answer.json"
    assert not (Path.cwd() / "pwned").exists()


def test_cli_writes_csv_and_feedback_and_exits_1(hostile_class: Path, tmp_path: Path) -> None:
    roster = tmp_path / "roster.csv"
    roster.write_text("id,first_name,last_name,email\nhonest,Ada,Lovelace,ada@example.org\nabsent,Al,Sent,\n")
    out, feedback = tmp_path / "grades.csv", tmp_path / "feedback"
    code = main(
        ["grade", str(hostile_class), "--roster", str(roster), "--out", str(out), "--feedback", str(feedback)]
    )
    assert code == 1
    with out.open(newline="", encoding="utf-8") as stream:
        rows = {row["student_id"]: row for row in csv.DictReader(stream)}
    assert list(rows["honest"]) == GRADES_COLUMNS
    assert len(rows) == len(HOSTILE_FILES) + 3
    assert (rows["honest"]["first_name"], rows["honest"]["score"], rows["honest"]["audit"]) == (
        "Ada",
        "7",
        "",
    )
    assert (rows["absent"]["score"], rows["absent"]["audit"]) == ("0", f"missing {NOTEBOOK}.answer.json")
    assert "gzip-compressed" in rows["gzip_file"]["audit"]
    page = (feedback / "html_in_key" / f"{NOTEBOOK}.html").read_text(encoding="utf-8")
    assert "&lt;script&gt;" in page and "<script>" not in page
    assert "7 / 7" in (feedback / "honest" / f"{NOTEBOOK}.txt").read_text(encoding="utf-8")


def test_cli_exits_0_when_nothing_needs_attention(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A stored torch tensor costs its points and is explained to the student, but is no attack."""
    for student, content in [("ada", reference_text().encode()), ("tom", with_value("X_grad", TENSOR))]:
        folder = tmp_path / student / NOTEBOOK
        folder.mkdir(parents=True)
        (folder / ".answer.json").write_bytes(content)
    assert main(["grade", str(tmp_path)]) == 0
    assert "use .detach().numpy()" in capsys.readouterr().out


def test_a_folder_named_no_student_id_gets_a_problem_and_no_row(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    submissions = tmp_path / "submissions"
    for student in ("ada", "=1+2", "<b onclick=x>eve"):
        folder = submissions / student / NOTEBOOK
        folder.mkdir(parents=True)
        (folder / f"{NOTEBOOK}.answer.json").write_text(reference_text(), encoding="utf-8")
    grades = tmp_path / "grades.csv"
    assert main(["grade", str(submissions), "--out", str(grades)]) == 1
    out = capsys.readouterr().out
    for refused in ("=1+2", "<b onclick=x>eve"):
        assert f"{refused} / -: not graded: the folder name holds" in out
    with grades.open(newline="", encoding="utf-8") as stream:
        assert [row["student_id"] for row in csv.DictReader(stream)] == ["ada"]


def test_cli_refuses_a_missing_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["grade", str(tmp_path / "nowhere")]) == 2
    assert "is not a folder" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("name\nada\n", "needs an 'id' column"),
        ("id\nada\nada\n", "listed twice"),
        ("id\n\n ,\n", "empty student id"),
        # An id must also be a folder under submitted/ and a gradebook key, as folder and zip ids are.
        ("id\nada\nada/grace\n", "roster.csv:3: student id 'ada/grace' holds a '/'"),
        ("id\n.hidden\n", "roster.csv:2: student id '.hidden' starts with '.'"),
        ("id\n" + "x" * 129 + "\n", "is longer than 128 characters"),
        ('id\n"o\'brien, jr"\n', "roster.csv:2: student id 'o'brien, jr' holds \"'\", ',', ' '"),
    ],
)
def test_bad_roster_is_refused_with_its_line(
    tmp_path: Path, text: str, problem: str, capsys: pytest.CaptureFixture[str]
) -> None:
    roster = tmp_path / "roster.csv"
    roster.write_text(text, encoding="utf-8")
    assert main(["grade", str(tmp_path), "--roster", str(roster)]) == 2
    assert problem in capsys.readouterr().err


def test_roster_names_with_commas_and_quotes_reach_the_csv_quoted(tmp_path: Path) -> None:
    roster = tmp_path / "roster.csv"
    roster.write_text(
        'id,last_name,first_name\no_brien,"Lovelace, jr","Ada ""the first"""\n', encoding="utf-8"
    )
    out, empty = tmp_path / "grades.csv", tmp_path / "empty"
    empty.mkdir()
    main(["grade", str(empty), "--roster", str(roster), "--out", str(out)])
    with out.open(newline="", encoding="utf-8") as stream:
        (row,) = [row for row in csv.DictReader(stream) if row["assignment"] == NOTEBOOK]
    assert (row["student_id"], row["last_name"], row["first_name"]) == (
        "o_brien",
        "Lovelace, jr",
        'Ada "the first"',
    )


def test_score_table_marks_problems_and_aligns(hostile_class: Path) -> None:
    rows = [fast_path_row(sub, Student(sub.student)) for sub in grade_folder(hostile_class, [NOTEBOOK])]
    lines = score_table(rows).splitlines()
    assert lines[0].split() == ["student", NOTEBOOK]
    cells = {line.split()[0]: line.split(maxsplit=1)[1].strip() for line in lines[1:]}
    assert cells["honest"] == "7/7" and cells["gzip_file"] == "0/7 !"
    assert len({len(line) for line in lines}) == 1


def test_answer_file_linked_to_an_endless_device_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "linker" / NOTEBOOK
    folder.mkdir(parents=True)
    os.symlink("/dev/zero", folder / ".answer.json")
    (submission,) = grade_folder(tmp_path, [NOTEBOOK])
    assert submission.score == 0 and submission.problem == "missing .answer.json"


def test_a_walk_in_is_graded_flagged_and_exits_1_as_on_the_class_path(tmp_path: Path) -> None:
    roster, out = tmp_path / "roster.csv", tmp_path / "grades.csv"
    roster.write_text("id\nada\ngrace\n", encoding="utf-8")
    sample = Path(__file__).resolve().parents[1] / "examples" / "sample_submission"
    assert main(["grade", str(sample), "--roster", str(roster), "--out", str(out)]) == 1
    with out.open(newline="", encoding="utf-8") as stream:
        rows = {row["student_id"]: row for row in csv.DictReader(stream)}
    assert (rows["linus"]["score"], rows["linus"]["audit"]) == ("7", "submitted but is not on the roster")
    assert rows["ada"]["audit"] == ""


def test_the_notebooks_own_answer_file_is_graded_before_a_legacy_one(tmp_path: Path) -> None:
    folder = tmp_path / "ada" / NOTEBOOK
    folder.mkdir(parents=True)
    (folder / ".answer.json").write_text("{}", encoding="utf-8")
    (folder / f"{NOTEBOOK}.answer.json").write_text(reference_text(), encoding="utf-8")
    (own,) = grade_folder(tmp_path, [NOTEBOOK])
    assert own.score == MAX_SCORE and own.problem == ""
    (folder / f"{NOTEBOOK}.answer.json").unlink()
    (folder / ".answer.json").write_text(reference_text(), encoding="utf-8")
    (legacy,) = grade_folder(tmp_path, [NOTEBOOK])
    assert legacy.score == MAX_SCORE and legacy.problem == ""
