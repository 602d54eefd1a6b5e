"""A throwaway PostgreSQL server for the slow suite (the fixtures in conftest.py use it).

``initdb`` into a fresh directory under /tmp, ``pg_ctl start`` listening only on a Unix socket in that directory
(no TCP port, so it cannot collide with a system cluster or a parallel run), one database per test, and
``pg_ctl stop`` + delete at the end. PostgreSQL refuses to run as root: as root the server runs as the
``postgres`` system user (Debian's package creates it) and the directory is handed to that user.
"""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

DB_USER = "postgres"  # the superuser initdb creates; trust authentication on the socket only


def find_bindir() -> Path | None:
    """The directory holding ``initdb`` and ``pg_ctl``: Debian's /usr/lib/postgresql/<ver>/bin (newest version
    first), else wherever ``PATH`` finds them; ``None`` when PostgreSQL is not installed."""

    def version(path: str) -> tuple[int, ...]:
        return tuple(int(n) for n in re.findall(r"\d+", Path(path).parent.parent.name))

    for initdb in sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=version, reverse=True):
        if (Path(initdb).parent / "pg_ctl").exists():
            return Path(initdb).parent
    found = shutil.which("initdb")
    if found and (Path(found).resolve().parent / "pg_ctl").exists():
        return Path(found).resolve().parent
    return None


class PostgresServer:
    """A running throwaway server. ``url(name)`` is the SQLAlchemy URL of a database on it."""

    def __init__(self, bindir: Path):
        self.bindir = bindir
        self._as: list[str] = []
        owner: pwd.struct_passwd | None = None
        if os.geteuid() == 0:
            try:
                owner = pwd.getpwnam("postgres")
            except KeyError:
                raise RuntimeError("running as root and there is no 'postgres' user to run the server as") from None
            self._as = ["runuser", "-u", "postgres", "--"]
        # Directly under /tmp: short enough for a socket path (~107 bytes), and reachable by the postgres user
        # (pytest's own tmp dirs are 0700 and owned by root).
        self.root = Path(tempfile.mkdtemp(prefix="sim-pg-", dir="/tmp"))
        if owner is not None:
            os.chown(self.root, owner.pw_uid, owner.pw_gid)
        self.data = self.root / "data"
        self.socket_dir = self.root
        self.log = self.root / "server.log"
        self._names = itertools.count(1)
        self._started = False

    def _run(self, *args: str) -> None:
        cmd = [*self._as, str(self.bindir / args[0]), *args[1:]]
        done = subprocess.run(cmd, cwd=self.root, capture_output=True, text=True, timeout=120, check=False)
        if done.returncode != 0:
            log = self.log.read_text(errors="replace")[-4000:] if self.log.exists() else ""
            raise RuntimeError(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stdout}{done.stderr}\n{log}")

    def start(self) -> PostgresServer:
        """initdb and start; returns self once the server accepts connections."""
        self._run(
            "initdb", "-D", str(self.data), "-U", DB_USER, "--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync"
        )
        # Durability is not under test here, speed is: no fsync. TimeZone is deliberately not UTC, so a test
        # sees what a server configured for China would hand the app.
        options = (
            f"-k {self.socket_dir} -c listen_addresses='' -c fsync=off -c synchronous_commit=off "
            "-c full_page_writes=off -c max_connections=200 -c TimeZone=Asia/Shanghai"
        )
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60", "-o", options, "start")
        self._started = True
        return self

    def url(self, database: str) -> str:
        """SQLAlchemy URL (psycopg 3) of ``database``, over the Unix socket."""
        return f"postgresql+psycopg://{DB_USER}@/{database}?host={self.socket_dir}"

    def create_database(self, name: str | None = None) -> str:
        """Create an empty database (a fresh name unless given); returns its URL."""
        import psycopg

        name = name or f"test_{next(self._names)}"
        with psycopg.connect(host=str(self.socket_dir), user=DB_USER, dbname="postgres", autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        """Stop the server (immediately: nothing in it is kept) and delete its directory."""
        try:
            if self._started:
                self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
