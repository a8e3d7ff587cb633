"""Process management shared by the service launchers: free ports, readiness waits, polling and log tails."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TypeVar

LOG_TAIL_LINES = 40
T = TypeVar("T")


class ServiceError(RuntimeError):
    """A service could not be started or did not become ready; the message carries its log tail."""


class MissingDependencyError(ServiceError):
    """A program a service needs is not installed; the message says what to install."""


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that is free at the time of the call."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    """Tell whether something accepts TCP connections on ``host:port``."""
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=timeout):
        return True
    return False


def require_program(name: str, *, hint: str, search: Sequence[str] = ()) -> str:
    """Return the path of program ``name`` or raise :class:`MissingDependencyError`.

    Args:
        name: The executable's file name.
        hint: What to install to get it (shown in the error).
        search: Extra directories to look in before ``PATH`` (e.g. ``/usr/lib/postgresql/15/bin``).
    """
    for directory in search:
        candidate = Path(directory) / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    found = shutil.which(name)
    if found is None:
        raise MissingDependencyError(f"'{name}' is not installed: {hint}")
    return found


def poll(
    probe: Callable[[], T],
    *,
    timeout: float,
    interval: float,
    failure: Callable[[T], str],
    until: Callable[[T], object] = bool,
    error: type[Exception] = TimeoutError,
) -> T:
    """Call ``probe`` every ``interval`` seconds until ``until`` holds for its value; return that value.

    ``probe`` runs at least once; its last call is the first after ``timeout`` has passed. An exception
    it raises ends the wait.

    Raises:
        error: ``until`` still does not hold after ``timeout`` seconds; the message is ``failure``
            of the last value.
    """
    deadline = time.monotonic() + timeout
    while not until(value := probe()):
        if time.monotonic() > deadline:
            raise error(failure(value))
        time.sleep(interval)
    return value


def log_tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    """Return the last ``lines`` lines of a log file, or a note that it is empty or absent."""
    if not path.exists():
        return f"(no log at {path})"
    text = path.read_text(errors="replace").splitlines()
    if not text:
        return f"(empty log at {path})"
    return "\n".join(text[-lines:])


class ManagedProcess:
    """A child process with its own log file, started in a new session so that it stops as a group.

    ``user`` runs it as another account (PostgreSQL refuses to run as root). A stopped process can be
    started again with :meth:`start`, which is how fault tests restart a server on the same port.
    """

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        *,
        log_path: Path,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        user: str | None = None,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.log_path = log_path
        self.env = dict(env) if env is not None else None
        self.cwd = cwd
        self.user = user
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        """The process id while it runs, else ``None``."""
        return self._proc.pid if self._proc is not None else None

    def start(self) -> ManagedProcess:
        """Start the process, appending its output to :attr:`log_path`."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self._proc = subprocess.Popen(
                self.argv,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=self.env,
                cwd=self.cwd,
                user=self.user,
                start_new_session=True,
            )
        return self

    def running(self) -> bool:
        """Tell whether the process was started and has not exited."""
        return self._proc is not None and self._proc.poll() is None

    def wait_until(
        self, ready: Callable[[], bool], *, timeout: float, what: str, interval: float = 0.2
    ) -> float:
        """Poll ``ready`` until it returns true; return the seconds it took.

        Raises:
            ServiceError: if the process exits first or ``timeout`` passes; the message has the log tail.
        """
        started = time.monotonic()
        deadline = started + timeout
        while time.monotonic() < deadline:
            if not self.running():
                code = self._proc.returncode if self._proc is not None else None
                raise ServiceError(
                    f"{self.name} exited (code {code}) before {what}; log tail:\n{log_tail(self.log_path)}"
                )
            with contextlib.suppress(Exception):
                if ready():
                    return time.monotonic() - started
            time.sleep(interval)
        self.stop()
        raise ServiceError(
            f"{self.name} did not answer ({what}) within {timeout:.0f}s; log tail:\n{log_tail(self.log_path)}"
        )

    def wait_for_exit(self, *, timeout: float) -> None:
        """Wait for a one-shot command (e.g. ``initdb``) to finish successfully.

        Raises:
            ServiceError: it exited non-zero or ran past ``timeout``; the message has the log tail.
        """
        if self._proc is None:
            raise ServiceError(f"{self.name} was never started")
        try:
            code = self._proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.stop()
            raise ServiceError(
                f"{self.name} did not finish within {timeout:.0f}s; log tail:\n{log_tail(self.log_path)}"
            ) from None
        if code != 0:
            raise ServiceError(f"{self.name} failed (code {code}); log tail:\n{log_tail(self.log_path)}")

    def interrupt(self, *, timeout: float = 30.0) -> None:
        """Send SIGINT to the process alone (not its group) and wait until it exits.

        For servers whose SIGINT is a clean, quick shutdown (PostgreSQL's "fast" mode).

        Raises:
            ServiceError: it still runs after ``timeout`` seconds (it is then killed).
        """
        if self._proc is None or self._proc.poll() is not None:
            return
        self._proc.send_signal(signal.SIGINT)
        try:
            self._proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.stop(timeout=5)
            tail = log_tail(self.log_path)
            raise ServiceError(f"{self.name} ignored SIGINT for {timeout:.0f}s; log tail:\n{tail}") from None

    def stop(self, timeout: float = 15.0) -> None:
        """Stop the process group: SIGTERM, then SIGKILL after ``timeout`` seconds."""
        if self._proc is None or self._proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self._proc.pid, signal.SIGTERM)
        try:
            self._proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self._proc.pid, signal.SIGKILL)
            self._proc.wait(timeout=timeout)
