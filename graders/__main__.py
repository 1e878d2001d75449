"""Command line: python -m graders grade DIR [--out grades.csv] [--feedback DIR]."""

import argparse
import sys
from pathlib import Path

from graders.report import feedback_text, grade_folder, score_table, write_export_csv
from graders.specs import notebooks


def grade_command(args: argparse.Namespace) -> int:
    chosen = args.notebook or [name for name in notebooks() if any(args.folder.glob(f"*/{name}"))] or notebooks()
    submissions = grade_folder(args.folder, chosen)
    for submission in submissions:
        print(feedback_text(submission), end="\n\n")
    print(score_table(submissions))
    if args.out:
        write_export_csv(submissions, args.out)
        print(f"\nwrote {args.out}")
    if args.feedback:
        for submission in submissions:
            target = args.feedback / submission.student / f"{submission.notebook}.txt"
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(feedback_text(submission) + "\n", encoding="utf-8")
        print(f"feedback in {args.feedback}")
    problems = [sub for sub in submissions if sub.problem]
    for sub in problems:
        print(f"attention: {sub.student} / {sub.notebook}: {sub.problem}", file=sys.stderr)
    return 1 if problems else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m graders", description="Grade the course's answer files.")
    commands = parser.add_subparsers(dest="command", required=True)
    grade = commands.add_parser("grade", help="grade DIR/<student>/<notebook>/.answer.json without executing")
    grade.add_argument("folder", type=Path)
    grade.add_argument("--notebook", action="append", help="notebook to grade (default: those present)")
    grade.add_argument("--out", type=Path, help="CSV in nbgrader export's columns")
    grade.add_argument("--feedback", type=Path, help="folder for per-student feedback text")
    grade.set_defaults(run=grade_command)
    args = parser.parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
