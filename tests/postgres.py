"""A real Postgres server for a test module: Debian's `postgresql`, on 127.0.0.1, data in a temporary folder.

Import the fixture into a test module (`from postgres import postgres_url`). Without Postgres installed the
tests using it skip, saying so; under CI (`make test` installs it) they fail instead.
"""

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

DATABASE = "gradebook"


def postgres_bin() -> Path:
    """The folder of Debian's newest Postgres binaries; skips (fails under CI) when there is none."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda path: int(path.split("/")[4]))
    if not found:
        missing = "Postgres is not installed: apt-get install postgresql (make test does, as root or in CI)"
        if os.environ.get("CI"):
            pytest.fail(missing)
        pytest.skip(missing)
    return Path(found[-1]).parent


def free_port() -> int:
    """A TCP port nobody listens on at this moment."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def as_server_user(command: list[str]) -> list[str]:
    """Postgres refuses to run as root, so root runs it as the `postgres` user."""
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    """postgresql://postgres@127.0.0.1:PORT/gradebook on a server started for this module, stopped after."""
    binaries = postgres_bin()
    # Not pytest's tmp_path: its parents are private to root, and the server runs as `postgres`.
    data = Path(tempfile.mkdtemp(prefix="graders-postgres-"))
    if os.geteuid() == 0:
        shutil.chown(data, "postgres", "postgres")
    port = free_port()
    run = [binaries / "pg_ctl", "-D", data / "cluster", "-l", data / "server.log"]
    subprocess.run(
        as_server_user([binaries / "initdb", "-D", data / "cluster", "-U", "postgres", "--auth=trust"]),
        check=True,
        capture_output=True,
    )
    # TCP on 127.0.0.1 only, and its Unix socket in the data folder rather than /var/run/postgresql.
    options = f"-c listen_addresses=127.0.0.1 -p {port} -k {data}"
    subprocess.run(as_server_user([*run, "-o", options, "-w", "start"]), check=True, capture_output=True)
    try:
        # CREATE DATABASE cannot run inside a transaction.
        with psycopg.connect(
            f"postgresql://postgres@127.0.0.1:{port}/postgres", autocommit=True
        ) as connection:
            connection.execute(f"CREATE DATABASE {DATABASE}")
        yield f"postgresql://postgres@127.0.0.1:{port}/{DATABASE}"
    finally:
        subprocess.run(as_server_user([*run, "-m", "fast", "-w", "stop"]), check=True, capture_output=True)
        shutil.rmtree(data, ignore_errors=True)
