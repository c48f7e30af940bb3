"""A throwaway PostgreSQL server on loopback for the multi-replica tests.

Uses Debian's `postgresql` binaries (installed by scripts/install-test-deps.sh, or here when
running as root with apt). As root the server runs as the `postgres` user, since PostgreSQL
refuses to run as root.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg

INSTALL_SCRIPT = Path(__file__).parents[2] / "scripts" / "install-test-deps.sh"


class PostgresUnavailable(RuntimeError):
    """PostgreSQL's server binaries are missing and could not be installed."""


@dataclass(frozen=True)
class PostgresInstance:
    url: str          # SQLAlchemy URL (postgresql+psycopg://…)
    dsn: str          # libpq DSN for psycopg


def _bin_dir() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found and os.geteuid() == 0 and shutil.which("apt-get"):
        subprocess.run(["sh", str(INSTALL_SCRIPT)], check=False, capture_output=True,
                       timeout=900)
        found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        raise PostgresUnavailable("PostgreSQL server binaries not found: run "
                                  "scripts/install-test-deps.sh (apt-get install postgresql).")
    return Path(found[-1]).parent


def _as_postgres(command: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def start_postgres() -> Iterator[PostgresInstance]:
    bin_dir = _bin_dir()
    root = Path(tempfile.mkdtemp(prefix="reprotect-pg-"))
    data, sockets = root / "data", root / "sockets"
    sockets.mkdir()
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
        shutil.chown(sockets, "postgres")
    subprocess.run(_as_postgres([str(bin_dir / "initdb"), "-D", str(data), "-A", "trust",
                                 "-U", "postgres", "--no-sync", "-E", "UTF8"]),
                   check=True, capture_output=True, timeout=120)
    port = _free_port()
    server = subprocess.Popen(
        _as_postgres([str(bin_dir / "postgres"), "-D", str(data), "-p", str(port),
                      "-k", str(sockets), "-c", "listen_addresses=127.0.0.1",
                      "-c", "fsync=off", "-c", "max_connections=200"]),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    dsn = f"host=127.0.0.1 port={port} user=postgres dbname=postgres"
    try:
        _wait(dsn, server)
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("CREATE DATABASE reprotect")
        yield PostgresInstance(
            url=f"postgresql+psycopg://postgres@127.0.0.1:{port}/reprotect",
            dsn=f"host=127.0.0.1 port={port} user=postgres dbname=reprotect")
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        shutil.rmtree(root, ignore_errors=True)


def _wait(dsn: str, server: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise PostgresUnavailable(f"postgres exited with {server.returncode}")
        try:
            with psycopg.connect(dsn, connect_timeout=1):
                return
        except psycopg.OperationalError:
            time.sleep(0.1)
    raise PostgresUnavailable("postgres did not accept connections in time")


def new_database(instance: PostgresInstance, prefix: str) -> str:
    """The SQLAlchemy URL of a fresh, empty database on `instance`."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(instance.dsn, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return instance.url.rsplit("/", 1)[0] + f"/{name}"
