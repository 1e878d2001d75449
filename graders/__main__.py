"""Command line for instructors; the exit code is 1 when anything needs attention, 2 for unusable input.

python -m graders grade DIR [--out grades.csv] [--feedback DIR] [--roster CSV]   # answer files only
python -m graders class SUBMISSIONS [--jobs N] [--roster CSV] [--course DIR]     # nbgrader, whole class
"""

import argparse
import sys
from pathlib import Path

from graders.classroom.class_report import report_text as class_report_text
from graders.classroom.collect import folder_refusal
from graders.classroom.course import NBGRADER_CONFIG, SubmissionsError
from graders.classroom.grade_class import grade_class
from graders.classroom.gradebook import NbgraderError
from graders.classroom.report_rows import (
    fast_path_row,
    feedback_text,
    flag_walk_ins,
    report_text,
    row_problems,
    write_feedback,
    write_grades_csv,
)
from graders.classroom.roster import Student, load_roster
from graders.classroom.sandbox import SandboxUnavailable
from graders.classroom.settings import add_flags, flag_overrides, load_settings
from graders.core.scoring import grade_folder
from graders.core.specs import notebooks

DEFAULT_COURSE_ROOT = Path("build") / "grading"


def grade_command(args: argparse.Namespace) -> int:
    """The fast path: answer files in, scores, feedback and a CSV out."""
    if not args.folder.is_dir():
        raise SubmissionsError(
            f"{args.folder} is not a folder of <student>/<notebook>/<notebook>.answer.json"
        )
    roster = load_roster(args.roster) if args.roster else {}
    present = [name for name in notebooks() if any(args.folder.glob(f"*/{name}"))]
    # A folder whose name is no student id gets no row, only a problem line, as on the class path.
    refused = {
        folder.name: refusal
        for folder in args.folder.iterdir()
        if folder.is_dir() and (refusal := folder_refusal(folder.name))
    }
    graded = grade_folder(args.folder, args.notebook or present or notebooks(), students=roster)
    submissions = [submission for submission in graded if submission.student not in refused]
    rows = flag_walk_ins(
        [fast_path_row(sub, roster.get(sub.student, Student(sub.student))) for sub in submissions], roster
    )
    for row in rows:
        print(feedback_text(row), end="\n\n")
    where = []
    if args.out:
        write_grades_csv(rows, args.out)
        where.append(f"grades:   {args.out}")
    if args.feedback:
        write_feedback(rows, args.feedback)
        where.append(f"feedback: {args.feedback}/<student>/<notebook>.txt and .html")
    problems = [*refused.values(), *row_problems(rows)]
    print(report_text(f"Graded {len(rows)} notebooks from {args.folder}", rows, problems, where))
    return 1 if problems else 0


def class_command(args: argparse.Namespace) -> int:
    """The nbgrader path for a whole class."""
    roster = load_roster(args.roster) if args.roster else None
    course = args.course or DEFAULT_COURSE_ROOT / args.submissions.resolve().stem
    settings = load_settings(args.config, **flag_overrides(args))
    report = grade_class(
        args.submissions,
        course,
        roster,
        args.notebook,
        max(1, settings.jobs),
        settings.limits,
        settings.db_url or None,
        settings.zip_pattern,
        scheduler=settings.scheduler or None,
        workers=max(0, settings.workers),
        instances=max(0, settings.instances),
        instance_secret=settings.instance_secret,
    )
    print(class_report_text(report))
    return 1 if report.problems else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m graders", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)

    grade = commands.add_parser(
        "grade", help="grade DIR/<student>/<notebook>/<notebook>.answer.json without executing"
    )
    grade.add_argument("folder", type=Path)
    grade.add_argument("--notebook", action="append", help="notebook to grade (default: those present)")
    grade.add_argument(
        "--roster", type=Path, help="CSV with id[,first_name,last_name,email]: everyone gets a row"
    )
    grade.add_argument("--out", type=Path, help="CSV in nbgrader export's columns, plus a problem column")
    grade.add_argument("--feedback", type=Path, help="folder for per-student feedback, text and HTML")
    grade.set_defaults(run=grade_command)

    whole = commands.add_parser("class", help="autograde a class's notebooks with nbgrader, audit, export")
    whole.add_argument(
        "submissions", type=Path, help="DIR/<student>/<notebook>/<notebook>.ipynb, or LMS zips"
    )
    whole.add_argument(
        "--roster", type=Path, help="CSV with id[,first_name,last_name,email]: everyone gets a row"
    )
    whole.add_argument(
        "--config",
        type=Path,
        default=NBGRADER_CONFIG,
        help="nbgrader_config.py whose c.ClassGrader.* set the defaults below (default: %(default)s)",
    )
    whole.add_argument(
        "--course", type=Path, help=f"course directory to grade in (default {DEFAULT_COURSE_ROOT}/NAME)"
    )
    whole.add_argument("--notebook", action="append", help="notebook to grade (default: those submitted)")
    add_flags(whole)
    whole.set_defaults(run=class_command)

    args = parser.parse_args(argv)
    try:
        return args.run(args)
    # A bad roster or submissions, no bwrap, a solution that cannot make an instance's reference.
    except (ValueError, NbgraderError, SandboxUnavailable) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: run the same command again to grade what is left", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
