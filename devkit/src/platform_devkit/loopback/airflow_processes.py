"""Process supervision of a loopback Airflow deployment: one :class:`ManagedProcess` per component.

:class:`LoopbackAirflow` is one running deployment: its ``AIRFLOW_HOME``, its environment, the
api-server, scheduler, dag-processor, triggerer and Celery worker (each with its own log under
``process-logs/``), one-shot ``airflow`` commands, readiness waits (the api-server answers, each
component's heartbeat, the worker's "ready" line), fault injection (kill, restart) and log tails. Its
users are created by :mod:`~platform_devkit.loopback.airflow_provisioning`; its REST API is
:attr:`LoopbackAirflow.api` (:mod:`~platform_devkit.loopback.airflow_rest`). Start one with
:func:`platform_devkit.loopback.airflow_deployment.start_airflow`.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import signal
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from platform_devkit.loopback.airflow_fab_api import Credentials
from platform_devkit.loopback.airflow_rest import AirflowRestClient
from platform_devkit.loopback.base import ManagedProcess, log_tail

if TYPE_CHECKING:
    import psutil

COMPONENTS = ("api-server", "scheduler", "dag-processor", "triggerer", "celery-worker")
"""The long-running processes, in start order."""
CELERY_READY = re.compile(r"\S+@\S+ ready\.")
START_TIMEOUT = 240.0


class LoopbackAirflow:
    """One Airflow deployment running on loopback: its processes, its users and its REST API.

    Args:
        home: ``AIRFLOW_HOME``.
        env: The environment of every process (see ``airflow_environment.airflow_environment``).
        api_port: The api-server's port.
        database: The metadata database's name.
        started_monotonic: When its start began (``time.monotonic()``).
    """

    def __init__(
        self, home: Path, env: dict[str, str], api_port: int, database: str, started_monotonic: float
    ) -> None:
        self.home = home
        self.env = env
        self.api_port = api_port
        self.database = database
        self.users: dict[str, Credentials] = {}
        self.processes: dict[str, ManagedProcess] = {}
        self.timings: dict[str, float] = {}
        self.started_monotonic = started_monotonic
        self.api = AirflowRestClient(self.api_url, self.users)

    @property
    def api_url(self) -> str:
        """The api-server's base URL."""
        return f"http://127.0.0.1:{self.api_port}"

    def airflow_argv(self, *args: str) -> list[str]:
        """Return the command line running ``airflow ARGS`` from this environment's Python."""
        return [sys.executable, "-m", "airflow", *args]

    def component_argv(self, name: str) -> list[str]:
        """Return the command line of component ``name`` (one of :data:`COMPONENTS`)."""
        if name == "api-server":
            return self.airflow_argv("api-server", "--host", "127.0.0.1", "--port", str(self.api_port))
        if name == "celery-worker":
            concurrency = self.env["AIRFLOW__CELERY__WORKER_CONCURRENCY"]
            hostname = f"e2e-{secrets.token_hex(4)}@%h"
            return self.airflow_argv(
                "celery", "worker", "--concurrency", concurrency, "--celery-hostname", hostname,
                "--without-mingle", "--without-gossip",
            )  # fmt: skip
        return self.airflow_argv(name)

    def process(self, name: str) -> ManagedProcess:
        """Return (creating if needed) the managed process of component ``name``."""
        if name not in self.processes:
            env = self.env
            if name == "api-server":
                # airflow_provisioning.create_admin syncs FAB's roles and permissions, concurrently with
                # the api-server's start; two processes syncing at once collide on FAB's unique constraints.
                env = {**env, "AIRFLOW__FAB__UPDATE_FAB_PERMS": "False"}
            self.processes[name] = ManagedProcess(
                name,
                self.component_argv(name),
                log_path=self.home / "process-logs" / f"{name}.log",
                env=env,
                cwd=self.home,
            )
        return self.processes[name]

    def run_cli(self, *args: str, timeout: float = 300.0) -> None:
        """Run a one-shot ``airflow`` command to completion, logged to ``process-logs/<arg1>-<arg2>.log``.

        Raises:
            ServiceError: it failed or timed out; the message has its log tail.
        """
        self.run_command(
            f"airflow {' '.join(args[:2])}",
            self.airflow_argv(*args),
            log_name="-".join(args[:2]),
            timeout=timeout,
        )

    def run_command(
        self,
        name: str,
        argv: Sequence[str],
        *,
        log_name: str,
        extra_env: Mapping[str, str] | None = None,
        timeout: float = 300.0,
    ) -> None:
        """Run a one-shot command with the deployment's environment, its output in ``process-logs/``.

        Args:
            name: What the command is called in messages.
            argv: The command line (secrets never go here: ``/proc`` shows it to every user).
            log_name: The log file's name, without ``.log``.
            extra_env: More environment for this command only (e.g. a password).
            timeout: Seconds to wait for it to finish.

        Raises:
            ServiceError: it failed or timed out; the message has its log tail.
        """
        command = ManagedProcess(
            name,
            argv,
            log_path=self.home / "process-logs" / f"{log_name}.log",
            env={**self.env, **(extra_env or {})},
            cwd=self.home,
        ).start()
        command.wait_for_exit(timeout=timeout)

    def wait_healthy(self, names: Iterable[str] = COMPONENTS, *, timeout: float = START_TIMEOUT) -> None:
        """Wait until each component in ``names`` is ready (api-server answers, heartbeats, worker ready)."""
        for name in names:
            started = time.monotonic()
            self.processes[name].wait_until(
                self._readiness(name), timeout=timeout, what=_READINESS_WHAT[name], interval=0.5
            )
            self.timings.setdefault(f"{name}_ready_s", time.monotonic() - started)

    def _readiness(self, name: str, since: datetime | None = None) -> Callable[[], bool]:
        if name == "api-server":
            return lambda: self.api.health()["metadatabase"]["status"] == "healthy"
        if name == "celery-worker":
            log = self.processes[name].log_path
            offset = log.stat().st_size if since is not None and log.exists() else 0
            return lambda: bool(CELERY_READY.search(log.read_text(errors="replace")[offset:]))
        return lambda: self.api.component_healthy(name.replace("-", "_"), since=since)

    def kill(self, name: str, sig: signal.Signals = signal.SIGKILL) -> list[int]:
        """Send ``sig`` to component ``name`` and every process it started, as a node loss would; reap it.

        The signal goes to the component's process group and to the process group of each descendant
        that left it: Airflow puts each task's runner in a group of its own, which a signal to the
        worker's group alone would leave running, an orphan no pod kill would spare. Returns the ids of
        the processes signalled (fault tests check they are gone).
        """
        import psutil

        process = self.processes[name]
        if process.pid is None or not process.running():
            return []
        group = process.pid
        descendants: list[psutil.Process] = []
        with contextlib.suppress(psutil.Error):
            descendants = psutil.Process(group).children(recursive=True)
        groups = {group}
        for child in descendants:
            with contextlib.suppress(OSError):
                groups.add(os.getpgid(child.pid))
        for pgid in sorted(groups, key=lambda pgid: pgid != group):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pgid, sig)
        process.stop(timeout=30)
        if sig == signal.SIGKILL:
            _wait_until_gone(descendants, timeout=30)
        return [group, *(child.pid for child in descendants)]

    def restart(self, name: str, *, timeout: float = START_TIMEOUT) -> None:
        """Start component ``name`` again and wait until it is ready (a heartbeat newer than the restart)."""
        since = datetime.now(UTC)
        ready = self._readiness(name, since)
        self.processes[name].start()
        self.processes[name].wait_until(ready, timeout=timeout, what=_READINESS_WHAT[name], interval=0.5)

    def log_tails(self, lines: int = 40) -> str:
        """Return the last ``lines`` lines of every component's log, one section each."""
        logs = sorted((self.home / "process-logs").glob("*.log"))
        return "\n\n".join(f"===== {path.stem} ({path}) =====\n{log_tail(path, lines)}" for path in logs)

    def stop(self) -> None:
        """Stop every component (worker and schedulers first, api-server last)."""
        for name in reversed(COMPONENTS):
            if name in self.processes:
                self.processes[name].stop(timeout=20)


def _wait_until_gone(processes: Iterable[psutil.Process], *, timeout: float) -> None:
    """Wait until each process has exited (an unreaped zombie counts as gone)."""
    import psutil

    deadline = time.monotonic() + timeout
    for proc in processes:
        while time.monotonic() < deadline:
            try:
                if proc.status() == psutil.STATUS_ZOMBIE:
                    break
            except psutil.NoSuchProcess:
                break
            time.sleep(0.1)


_READINESS_WHAT = {
    "api-server": "GET /api/v2/monitor/health",
    "scheduler": "a scheduler heartbeat in /api/v2/monitor/health",
    "dag-processor": "a dag-processor heartbeat in /api/v2/monitor/health",
    "triggerer": "a triggerer heartbeat in /api/v2/monitor/health",
    "celery-worker": "'<name>@<host> ready.' in its log",
}
