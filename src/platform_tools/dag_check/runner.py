"""Run the checks: warm Airflow up once, then fork one fresh process per file, in parallel.

Each file is parsed in a child forked from a parent that has imported Airflow (and the Airflow and
plugin modules the files import, as the dag-processor pre-imports them) but never a DAG file, so every
file starts from the same clean module state. The parent kills a child that outlives the budget.
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import json
import os
import re
import selectors
import signal
import sys
import time
import warnings
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field

from platform_tools.dag_check import guards
from platform_tools.dag_check.parse import Reporter, check_dag, check_file
from platform_tools.dag_check.problems import FileResult, Problem
from platform_tools.dag_check.source_lines import SourceIndex

KILL_GRACE_SECONDS = 0.5
# Airflow SDK, provider and plugin modules named in `import X` / `from X import a, b` statements, and
# the imported names (airflow.sdk loads its attributes lazily, so the names are resolved too).
IMPORT_PATTERN = re.compile(
    rb"^[ \t]*(?:from|import)[ \t]+((?:airflow\.sdk|airflow\.providers|airflow_platform)(?:\.\w+)*)"
    rb"(?:[ \t]+import[ \t]+(\([^)]*\)|[^\n#]*))?",
    re.MULTILINE,
)
CHILD_FAILURE_EXIT = 70


@dataclass(frozen=True)
class DagFile:
    """A file to check: its real path and the path shown in the report."""

    path: str
    display_path: str


def warm_up(files: list[DagFile]) -> None:
    """Import what every parse needs once, in the parent, then install the access guards.

    Besides the modules the files import, a synthetic DAG (not a file) goes through every check, so
    the modules Airflow imports lazily on the way (validation, executors, policies, serialization)
    are loaded once here instead of in every child.
    """
    from airflow.sdk.definitions._internal.contextmanager import DagContext

    for module_name, names in sorted(_imported_names(files).items()):
        with warnings.catch_warnings(), contextlib.suppress(Exception):
            warnings.simplefilter("ignore")
            module = importlib.import_module(module_name)
            for name in sorted(names):
                getattr(module, name, None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check_dag(_warm_up_dag(), Reporter(FileResult(path="<warm-up>"), "<warm-up>"))
    DagContext.autoregistered_dags.clear()
    guards.install_guards()
    gc.freeze()


def _warm_up_dag():
    from airflow.providers.standard.operators.empty import EmptyOperator
    from airflow.sdk import DAG, TaskGroup, task

    with DAG(
        dag_id="dag_check_warm_up",
        schedule="@daily",
        tags=["warm-up"],
        default_args={"owner": "dag-check", "retries": 2},
    ) as dag:

        @task
        def numbers() -> list[int]:
            return [1]

        @task(executor="KubernetesExecutor")
        def double(number: int) -> int:
            return 2 * number

        with TaskGroup("group"):
            EmptyOperator(task_id="start") >> double.expand(number=numbers())
    return dag


def run_checks(
    files: list[DagFile],
    budget_seconds: float,
    jobs: int,
    *,
    fork_per_file: bool = False,
    serialize: bool = False,
) -> list[FileResult]:
    """Check every file in ``jobs`` parallel workers; return results sorted by path.

    Each worker is forked from the warmed-up parent and checks one file at a time, restoring the
    module state (``sys.modules``, builtins, ``sys.path``, environment, working directory) it was forked
    with after every file. With ``fork_per_file`` each file gets a brand-new worker instead. A worker
    that outlives a file's deadline is killed, the file reported, and the remaining files go on.
    """
    selector = selectors.DefaultSelector()
    pending = list(reversed(range(len(files))))
    workers: dict[int, _Worker] = {}
    results: list[FileResult] = []
    try:
        while pending or workers:
            while pending and len(workers) < jobs:
                worker = _spawn_worker(files, budget_seconds, serialize)
                workers[worker.out_fd] = worker
                selector.register(worker.out_fd, selectors.EVENT_READ)
            for worker in workers.values():
                if worker.current is None and not worker.stopping:
                    if pending and not (fork_per_file and worker.done):
                        worker.assign(pending.pop(), budget_seconds)
                    else:
                        worker.stop()
            deadlines = [worker.deadline for worker in workers.values() if worker.current is not None]
            timeout = max(0.0, min(deadlines) - time.monotonic()) if deadlines else None
            for key, _events in selector.select(timeout=timeout):
                worker = workers[key.fd]
                chunk = os.read(key.fd, 1 << 16)
                if chunk:
                    results.extend(worker.receive(chunk, files))
                    continue
                selector.unregister(key.fd)
                del workers[key.fd]
                results.extend(worker.reap(files, budget_seconds))
            now = time.monotonic()
            for fd, worker in list(workers.items()):
                if worker.current is not None and now >= worker.deadline:
                    selector.unregister(fd)
                    del workers[fd]
                    results.append(worker.kill(files, budget_seconds))
    finally:
        for worker in workers.values():
            worker.kill(files, budget_seconds)
        selector.close()
    results.sort(key=lambda result: result.path)
    return results


def add_duplicate_dag_ids(results: list[FileResult], files: list[DagFile]) -> None:
    """Report every file that defines a ``dag_id`` another file defines too."""
    real_paths = {file.display_path: file.path for file in files}
    owners: dict[str, list[FileResult]] = defaultdict(list)
    for result in results:
        for dag_id in result.dag_ids:
            owners[dag_id].append(result)
    for dag_id, defining in sorted(owners.items()):
        if len(defining) < 2:
            continue
        for result in defining:
            others = ", ".join(other.path for other in defining if other is not result)
            line = SourceIndex.from_file(real_paths[result.path]).line_of(dag_id)
            result.problems.append(
                Problem(
                    result.path,
                    line,
                    "DUPLICATE-DAG-ID",
                    f"dag_id '{dag_id}' is also defined in {others}",
                    "give every DAG a unique dag_id",
                )
            )


@dataclass
class _Worker:
    pid: int
    command_fd: int
    out_fd: int
    current: int | None = None
    started: float = 0.0
    deadline: float = 0.0
    done: int = 0
    stopping: bool = False
    buffer: bytearray = field(default_factory=bytearray)

    def assign(self, index: int, budget_seconds: float) -> None:
        self.current = index
        self.started = time.monotonic()
        self.deadline = self.started + budget_seconds + KILL_GRACE_SECONDS
        os.write(self.command_fd, f"{index}\n".encode())

    def stop(self) -> None:
        self.stopping = True
        os.close(self.command_fd)

    def receive(self, chunk: bytes, files: list[DagFile]) -> list[FileResult]:
        self.buffer += chunk
        received = []
        while (end := self.buffer.find(b"\n")) >= 0:
            line, self.buffer = bytes(self.buffer[:end]), self.buffer[end + 1 :]
            received.append(FileResult.from_dict(json.loads(line)))
            self.current = None
            self.done += 1
        return received

    def reap(self, files: list[DagFile], budget_seconds: float) -> list[FileResult]:
        """The worker's output ended: collect it; a file in progress crashed the worker."""
        os.close(self.out_fd)
        if not self.stopping:
            os.close(self.command_fd)
        _pid, status = os.waitpid(self.pid, 0)
        if self.current is None:
            return []
        file = files[self.current]
        result = FileResult(path=file.display_path, parse_seconds=round(time.monotonic() - self.started, 4))
        code = os.waitstatus_to_exitcode(status)
        result.problems.append(
            Problem(
                file.display_path,
                1,
                "CRASH",
                f"the parsing process ended without a result (exit code {code})",
                "remove process-level side effects (os._exit, signals, native crashes) from top-level code",
            )
        )
        return [result]

    def kill(self, files: list[DagFile], budget_seconds: float) -> FileResult:
        """Kill the worker; report the file it was stuck on."""
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGKILL)
        os.waitpid(self.pid, 0)
        os.close(self.out_fd)
        if not self.stopping:
            os.close(self.command_fd)
        elapsed = time.monotonic() - self.started
        file = files[self.current] if self.current is not None else DagFile("", "")
        result = FileResult(path=file.display_path, parse_seconds=round(elapsed, 4))
        result.problems.append(
            Problem(
                file.display_path,
                1,
                "PARSE-TIMEOUT",
                f"parsing did not end and was killed after {elapsed:.1f} s (budget {budget_seconds:g} s)",
                "remove blocking or endless work from top-level code",
            )
        )
        return result


def _spawn_worker(files: list[DagFile], budget_seconds: float, serialize: bool) -> _Worker:
    command_read, command_write = os.pipe()
    out_read, out_write = os.pipe()
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child never returns
        os.close(command_write)
        os.close(out_read)
        _worker_main(files, budget_seconds, serialize, command_read, out_write)
    os.close(command_read)
    os.close(out_write)
    return _Worker(pid=pid, command_fd=command_write, out_fd=out_read)


def _worker_main(
    files: list[DagFile], budget_seconds: float, serialize: bool, command_fd: int, out_fd: int
) -> None:
    exit_code = 0
    try:
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
        with os.fdopen(command_fd, "rb", buffering=0) as commands:
            for line in iter(commands.readline, b""):
                file = files[int(line)]
                with _fresh_module_state():
                    result = check_file(file.path, file.display_path, budget_seconds, serialize=serialize)
                _write_all(out_fd, json.dumps(result.to_dict()).encode() + b"\n")
    except BaseException:
        exit_code = CHILD_FAILURE_EXIT
    finally:
        os._exit(exit_code)


@contextlib.contextmanager
def _fresh_module_state() -> Iterator[None]:
    """Undo what parsing one file did to the interpreter: modules, builtins, sys.path, env, cwd."""
    import builtins

    from airflow.sdk.definitions._internal.contextmanager import DagContext

    modules = set(sys.modules)
    builtin_namespace = vars(builtins)
    builtin_names = dict(builtin_namespace)
    path = list(sys.path)
    environment = dict(os.environ)
    cwd = os.getcwd()
    try:
        yield
    finally:
        for name in set(sys.modules) - modules:
            del sys.modules[name]
        for name in set(builtin_namespace) - set(builtin_names):
            del builtin_namespace[name]
        builtin_namespace.update(builtin_names)
        sys.path[:] = path
        if dict(os.environ) != environment:
            os.environ.clear()
            os.environ.update(environment)
        os.chdir(cwd)
        DagContext.autoregistered_dags.clear()


def _write_all(fd: int, payload: bytes) -> None:
    view = memoryview(payload)
    while view:
        view = view[os.write(fd, view) :]


def _imported_names(files: list[DagFile]) -> dict[str, set[str]]:
    imported: dict[str, set[str]] = defaultdict(set)
    for file in files:
        with contextlib.suppress(OSError), open(file.path, "rb") as source:
            for module, names in IMPORT_PATTERN.findall(source.read()):
                parts = names.decode(errors="replace").strip("()").split(",")
                imported[module.decode()].update(
                    part.split()[0] for part in parts if part.split() and part.split()[0].isidentifier()
                )
    return imported
