"""PostgreSQL 15 on loopback: ``initdb`` into a temporary directory, then ``postgres`` on a free port.

Fault tests restart a server this module started (:meth:`PostgresService.restart`): same port, same data.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote, urlsplit

from platform_devkit.loopback.base import ManagedProcess, free_port, require_program

if TYPE_CHECKING:
    import psycopg2.extensions

ENV_URL = "PLATFORM_POSTGRES_URL"
PG_BIN_DIRS = ("/usr/lib/postgresql/15/bin",)
INSTALL_HINT = "apt-get install postgresql-15 (Debian 12)"
SUPERUSER = "platform"
# Durability is irrelevant for a throw-away test cluster; these settings make it start and write faster.
FAST_SETTINGS = ("fsync=off", "synchronous_commit=off", "full_page_writes=off", "max_connections=200")


@dataclass
class PostgresService:
    """A running PostgreSQL server and the superuser credentials to reach it."""

    host: str
    port: int
    user: str
    password: str = field(repr=False)
    process: ManagedProcess | None = field(default=None, repr=False)
    data_dir: Path | None = None

    def url(self, dbname: str = "postgres", driver: str = "postgresql") -> str:
        """Return a SQLAlchemy/libpq URL for ``dbname`` (``driver`` e.g. ``postgresql+psycopg2``)."""
        return f"{driver}://{quote(self.user)}:{quote(self.password)}@{self.host}:{self.port}/{dbname}"

    def connect(self, dbname: str = "postgres") -> psycopg2.extensions.connection:
        """Open a psycopg2 connection to ``dbname`` (autocommit)."""
        import psycopg2

        conn = psycopg2.connect(
            host=self.host, port=self.port, user=self.user, password=self.password, dbname=dbname
        )
        conn.autocommit = True
        return conn

    def create_database(self, name: str) -> str:
        """Create database ``name`` if it does not exist and return its URL."""
        with contextlib.closing(self.connect()) as conn, conn.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
            if cur.fetchone() is None:
                cur.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def wait_ready(self, *, timeout: float = 60.0) -> float:
        """Wait until the server this object started accepts a SQL connection; return the seconds it took.

        Raises:
            ServiceError: the server exited or ``timeout`` passed; the message carries its log tail.
        """
        if self.process is None:
            raise RuntimeError("this PostgreSQL server is external (PLATFORM_POSTGRES_URL); it is not ours")

        def ready() -> bool:
            with contextlib.closing(self.connect()):
                return True

        return self.process.wait_until(ready, timeout=timeout, what="a SQL connection")

    def restart(self, *, timeout: float = 60.0) -> float:
        """Restart the server on the same port and data directory (fault tests); return the seconds it took.

        A fast shutdown (SIGINT: every session is disconnected, open transactions roll back; SIGTERM
        would be the "smart" shutdown, which waits for every client to leave), then a start, waiting
        until the server accepts connections again.

        Raises:
            RuntimeError: the server is external (``PLATFORM_POSTGRES_URL``), not started by this object.
            ServiceError: it did not stop or start within ``timeout``; the message carries its log tail.
        """
        if self.process is None or self.process.pid is None:
            raise RuntimeError("this PostgreSQL server is external (PLATFORM_POSTGRES_URL); not restartable")
        started = time.monotonic()
        self.process.interrupt(timeout=timeout)
        self.process.start()
        self.wait_ready(timeout=timeout)
        return time.monotonic() - started

    def stop(self) -> None:
        """Stop the server (if this object started it) and remove its data directory."""
        if self.process is not None:
            self.process.stop()
        if self.data_dir is not None:
            shutil.rmtree(self.data_dir, ignore_errors=True)


def from_url(url: str) -> PostgresService:
    """Describe an already running server from a ``postgresql://user:password@host:port/db`` URL."""
    parts = urlsplit(url)
    if not parts.hostname or not parts.username:
        raise ValueError(f"{ENV_URL} must look like postgresql://USER:PASSWORD@HOST:PORT/DB")
    return PostgresService(
        host=parts.hostname, port=parts.port or 5432, user=parts.username, password=parts.password or ""
    )


def start_postgres(*, timeout: float = 60.0) -> PostgresService:
    """Start a fresh PostgreSQL cluster, or use the one ``PLATFORM_POSTGRES_URL`` names.

    Raises:
        MissingDependencyError: PostgreSQL is not installed.
        ServiceError: the server did not start; the message carries its log tail.
    """
    if os.environ.get(ENV_URL):
        service = from_url(os.environ[ENV_URL])
        with contextlib.closing(service.connect()):
            return service
    initdb = require_program("initdb", hint=INSTALL_HINT, search=PG_BIN_DIRS)
    postgres = require_program("postgres", hint=INSTALL_HINT, search=PG_BIN_DIRS)
    run_as = "postgres" if os.geteuid() == 0 else None
    data_dir = Path(tempfile.mkdtemp(prefix="platform-pg-"))
    password = secrets.token_hex(16)
    pwfile = data_dir / "pwfile"
    pwfile.write_text(password)
    cluster = data_dir / "cluster"
    if run_as is not None:
        shutil.chown(data_dir, user=run_as)
        shutil.chown(pwfile, user=run_as)
    pwfile.chmod(0o600)
    log = data_dir / "postgres.log"
    init = ManagedProcess(
        "initdb",
        [
            initdb,
            "-D",
            str(cluster),
            "-U",
            SUPERUSER,
            f"--pwfile={pwfile}",
            "-A",
            "scram-sha-256",
            "-E",
            "UTF8",
        ],
        log_path=log,
        user=run_as,
    ).start()
    init.wait_for_exit(timeout=timeout)
    pwfile.unlink()
    port = free_port()
    settings = [arg for setting in FAST_SETTINGS for arg in ("-c", setting)]
    server = ManagedProcess(
        "postgres",
        [
            postgres,
            "-D",
            str(cluster),
            "-p",
            str(port),
            "-c",
            "listen_addresses=127.0.0.1",
            "-c",
            f"unix_socket_directories={data_dir}",
            *settings,
        ],
        log_path=log,
        user=run_as,
    ).start()
    service = PostgresService(
        host="127.0.0.1", port=port, user=SUPERUSER, password=password, process=server, data_dir=data_dir
    )
    service.wait_ready(timeout=timeout)
    return service
