"""Which hidden problem instance each student is graded on: chosen by the trusted grader from a course
secret and the student id, so no student can predict it and a copied or hard-coded answer misses.

Instance k of a pool of K is 1 + HMAC-SHA256(secret, notebook NUL student) mod K; K = 0 grades everyone
on the public instance 0. The secret comes from the instructor's config (c.ClassGrader.instance_secret)
or, where none is set, from a file the grader makes once in the course folder. It never enters a kernel.
"""

import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from graders.core.instances import PUBLIC_INSTANCE

# A pool this size makes two neighbours share an instance one time in eight; each instance costs one
# run of the solution notebook (cached), so a larger pool costs seconds, not grading time.
DEFAULT_POOL = 8
SECRET_FILE = "instance-secret"
SECRET_BYTES = 32


@dataclass(frozen=True)
class InstancePlan:
    """The pool size and secret of one grading run, and where the secret came from (for the report)."""

    pool: int
    secret: str
    origin: str

    def instance(self, notebook: str, student: str) -> int:
        """The instance `student` is graded on for `notebook`: the same run after run."""
        return hidden_instance(self.secret, notebook, student, self.pool)

    def report_line(self) -> str:
        """What the class report says about instances."""
        if self.pool <= 0:
            return (
                "instances: NONE (instances = 0): everyone was graded on the public instance, whose answers"
                " ship with the course, so a hard-coded or copied answer scores as a computed one"
            )
        return (
            f"instances: each student graded on a hidden instance 1-{self.pool} per notebook"
            f" (HMAC of the student id), secret {self.origin}"
        )


def fresh_instance_note(instance: int) -> str:
    """What a student's feedback says when the grade comes from a hidden instance."""
    return (
        f"Graded on a fresh instance of the same problem (instance {instance}), so your numbers differ"
        " from the ones in your notebook: the points say whether your code computes them right."
    )


def hidden_instance(secret: str, notebook: str, student: str, pool: int) -> int:
    """1 + HMAC-SHA256(secret, notebook NUL student) mod pool; the public instance when pool is 0."""
    if pool <= 0:
        return PUBLIC_INSTANCE
    mac = hmac.new(secret.encode(), f"{notebook}\0{student}".encode(), hashlib.sha256).digest()
    return 1 + int.from_bytes(mac, "big") % pool


def instance_plan(grading: Path, pool: int, configured_secret: str = "") -> InstancePlan:
    """The run's plan: the configured secret, else the one kept in grading/instance-secret (made once)."""
    if pool <= 0:
        return InstancePlan(0, "", "")
    if configured_secret:
        return InstancePlan(pool, configured_secret, "from c.ClassGrader.instance_secret")
    path = grading / SECRET_FILE
    made = _make_secret(path)
    kept = f"kept in {path} (mode 0600; keep it: another secret picks other instances and regrades all)"
    secret = path.read_text(encoding="ascii").strip()
    return InstancePlan(pool, secret, ("made now and " if made else "") + kept)


def _make_secret(path: Path) -> bool:
    """Write a fresh secret readable by its owner only, unless one is there; True if made now."""
    path.parent.mkdir(parents=True, exist_ok=True)
    draft = path.with_name(f".{path.name}.{os.getpid()}")
    descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="ascii") as stream:
        stream.write(secrets.token_hex(SECRET_BYTES) + "\n")
    try:
        # A link appears whole and fails if the name exists: two graders starting at once keep one secret.
        os.link(draft, path)
    except FileExistsError:
        return False
    finally:
        draft.unlink()
    return True
