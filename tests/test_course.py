"""The course layout comes from nbgrader's CourseDirectory, so a course's own nbgrader_config.py holds."""

from pathlib import Path

from graders.classroom.course import Course, Task, scratch_course, scratch_task

TASK = Task("00_autograd", "o'brien*[x]")
NOTEBOOK_FIRST = "c.CourseDirectory.directory_structure = '{nbgrader_step}/{assignment_id}/{student_id}'\n"


def test_task_paths_are_nbgraders_default_layout(tmp_path: Path) -> None:
    course = Course(tmp_path, "sqlite://")
    assert course.submitted(TASK) == tmp_path / "submitted" / TASK.student / TASK.notebook
    assert course.autograded(TASK) == tmp_path / "autograded" / TASK.student / TASK.notebook
    assert course.release(TASK.notebook) == tmp_path / "release" / TASK.notebook / f"{TASK.notebook}.ipynb"


def test_task_paths_follow_the_courses_own_directories(tmp_path: Path) -> None:
    (tmp_path / "nbgrader_config.py").write_text(
        "c = get_config()\nc.CourseDirectory.submitted_directory = 'handed_in'\n" + NOTEBOOK_FIRST
    )
    course = Course(tmp_path, "sqlite://")
    assert course.submitted(TASK) == tmp_path / "handed_in" / TASK.notebook / TASK.student
    assert course.feedback(TASK) == tmp_path / "feedback" / TASK.notebook / TASK.student


def test_a_scratch_course_grades_under_the_neutral_id_with_its_own_gradebook(tmp_path: Path) -> None:
    scratch = scratch_course(tmp_path)
    assert scratch.submitted(scratch_task(TASK)) == tmp_path / "submitted" / "student" / TASK.notebook
    assert scratch.db_url == f"sqlite:///{tmp_path / 'gradebook.db'}"


def test_students_are_found_in_the_courses_own_layout(tmp_path: Path) -> None:
    (tmp_path / "nbgrader_config.py").write_text("c = get_config()\n" + NOTEBOOK_FIRST)
    course = Course(tmp_path, "sqlite://")
    for student, notebook in [
        (TASK.student, TASK.notebook),
        ("ada", TASK.notebook),
        ("bob", "01_gradient_steps"),
    ]:
        course.submitted(Task(notebook, student)).mkdir(parents=True)
    (tmp_path / "submitted" / TASK.notebook / "stray.txt").write_text("not a student")
    assert course.students_at("submitted") == {TASK.student, "ada", "bob"}
    assert course.students_at("submitted", TASK.notebook) == {TASK.student, "ada"}
    assert course.students_at("autograded") == set()
