"""A real PostgreSQL server for the ward-store tests, started in a temporary directory.

`running_server` finds `initdb` and `pg_ctl` on PATH or under `/usr/lib/postgresql/*/bin`,
creates a cluster in a fresh directory under /tmp, and starts it listening on a unix socket in
that directory only (no TCP port). `initdb` refuses to run as root, so as root the cluster is
made and run by the `postgres` user (`runuser -u postgres --`) in a directory it owns. The
test is skipped, with the reason, only when no PostgreSQL binaries exist at all.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url

SUPERUSER = "postgres"


def find_binary(name: str) -> str | None:
    """`name` on PATH, else the newest `/usr/lib/postgresql/*/bin/name`."""
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(
        glob.glob(f"/usr/lib/postgresql/*/bin/{name}"),
        key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0,
    )
    return candidates[-1] if candidates else None


@dataclass(frozen=True)
class PgServer:
    """A running throw-away server: its socket directory."""

    socket_dir: Path

    def conninfo(self, database: str) -> str:
        """A psycopg connection string for `database`."""
        return f"host={self.socket_dir} user={SUPERUSER} dbname={database}"

    def url(self, database: str) -> str:
        """A `postgresql://` store URL for `database` (over the unix socket)."""
        return f"postgresql://{SUPERUSER}@/{database}?host={self.socket_dir}"

    def new_database(self) -> str:
        """Create an empty database and return its store URL."""
        name = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.conninfo("postgres"), autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def admin(self, url: str) -> psycopg.Connection[tuple[object, ...]]:
        """An autocommit superuser connection to the database of `url`."""
        database = make_url(url).database or "postgres"
        return psycopg.connect(self.conninfo(database), autocommit=True)


def _run(command: list[str], as_postgres: bool) -> None:
    prefix = ["runuser", "-u", SUPERUSER, "--"] if as_postgres else []
    result = subprocess.run(prefix + command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"{command[0]} failed ({result.returncode}): {result.stderr.strip()}")


@contextmanager
def running_server() -> Iterator[PgServer]:
    """Start a server for the duration of the block; stop it and remove its files after."""
    initdb, pg_ctl = find_binary("initdb"), find_binary("pg_ctl")
    if initdb is None or pg_ctl is None:
        pytest.skip("no PostgreSQL binaries (initdb, pg_ctl) on PATH or in /usr/lib/postgresql")
    as_root = os.geteuid() == 0
    base = Path(tempfile.mkdtemp(prefix="tpg-", dir="/tmp"))
    if as_root:
        user = pwd.getpwnam(SUPERUSER)
        os.chown(base, user.pw_uid, user.pw_gid)
    data = base / "data"
    _run([initdb, "-D", str(data), "-U", SUPERUSER, "--auth=trust", "-E", "UTF8", "-N"], as_root)
    options = f"-k {base} -h '' -F -c max_connections=50"
    _run([pg_ctl, "-D", str(data), "-l", str(base / "log"), "-w", "-o", options, "start"], as_root)
    try:
        yield PgServer(base)
    finally:
        _run([pg_ctl, "-D", str(data), "-m", "immediate", "-w", "stop"], as_root)
        shutil.rmtree(base, ignore_errors=True)
