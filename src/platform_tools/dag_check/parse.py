"""Check one DAG file, in a process of its own: import it, then apply Airflow's checks and policies.

The steps follow Airflow's ``DagBag.process_file``/``bag_dag`` (import the module under a unique name,
collect its DAGs, ``dag.validate()``, executor check, cycle check, ``dag_policy``/``task_policy``) and the
dag-processor's serialization, collecting every problem instead of stopping at the first.
"""

from __future__ import annotations

import contextlib
import importlib.machinery
import importlib.util
import re
import signal
import sys
import time
import warnings
from collections.abc import Iterator
from typing import Any

from platform_tools.dag_check import guards
from platform_tools.dag_check.problems import FileResult, Problem
from platform_tools.dag_check.source_lines import SourceIndex, line_in_stack, line_in_traceback

DEPRECATION_MESSAGE = re.compile(r"deprecat|removed", re.IGNORECASE)
MAX_MESSAGE_CHARS = 300


class ParseBudgetExceeded(BaseException):
    """The parse ran past the per-file budget (a BaseException, so DAG code cannot swallow it)."""


class Reporter:
    """Collects the problems of one file."""

    def __init__(self, result: FileResult, path: str, index: SourceIndex | None = None):
        self.result = result
        self.path = path
        self._index = index

    @property
    def index(self) -> SourceIndex:
        """The file's source index, built on first use (only a problem needs a line)."""
        if self._index is None:
            self._index = SourceIndex.from_file(self.path)
        return self._index

    def add(self, line: int | None, rule_id: str, message: str, fix: str) -> None:
        """Record a problem once."""
        problem = Problem(self.result.path, line or 1, rule_id, _one_line(message), fix)
        if problem not in self.result.problems:
            self.result.problems.append(problem)

    def add_at(self, names: tuple[str, ...], rule_id: str, message: str, fix: str) -> None:
        """Record a problem at the line defining the first of ``names`` (a task id, a dag id) found."""
        lines = (self.index.line_of(name, default=0) for name in names)
        self.add(next((line for line in lines if line), None), rule_id, message, fix)

    def has(self, rule_id: str) -> bool:
        """Whether a problem with ``rule_id`` was recorded."""
        return any(problem.rule_id == rule_id for problem in self.result.problems)


def check_file(path: str, display_path: str, budget_seconds: float, *, serialize: bool = False) -> FileResult:
    """Parse ``path`` and return every problem found (call in a fresh, forked process).

    With ``serialize``, every DAG is also serialized as the dag-processor stores it.
    """
    result = FileResult(path=display_path)
    report = Reporter(result, path)
    access_log = guards.start_recording(path)
    with _recorded_warnings(path) as warned:
        dags = _import_dags(path, budget_seconds, report)
        for dag in dags:
            check_dag(dag, report, serialize=serialize)
    for access in access_log.accesses:
        report.add(
            access.line,
            "PARSE-ACCESS",
            f"{access.call}({access.key!r}) is called while the file is parsed",
            "read it at run time: inside a task, or with a Jinja template such as {{ var.value.name }}",
        )
    for line, category, message in warned:
        if issubclass(category, DeprecationWarning | PendingDeprecationWarning | FutureWarning) or (
            DEPRECATION_MESSAGE.search(message)
        ):
            report.add(
                line,
                "DEPRECATION",
                f"{category.__name__}: {message}",
                "use the Airflow 3 API the warning names",
            )
    result.dag_ids = sorted(dag.dag_id for dag in dags)
    result.task_count = sum(len(dag.tasks) for dag in dags)
    return result


def _import_dags(path: str, budget_seconds: float, report: Reporter) -> list[Any]:
    from airflow.sdk import DAG
    from airflow.sdk.definitions._internal.contextmanager import DagContext
    from airflow.utils.file import get_unique_dag_module_name

    module_name = get_unique_dag_module_name(path)
    DagContext.autoregistered_dags.clear()
    DagContext.current_autoregister_module_name = module_name
    started = time.perf_counter()
    try:
        with _alarm(budget_seconds):
            loader = importlib.machinery.SourceFileLoader(module_name, path)
            spec = importlib.util.spec_from_loader(module_name, loader)
            module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
            sys.modules[module_name] = module
            loader.exec_module(module)
    except ParseBudgetExceeded as error:
        report.add(
            line_in_traceback(path, error.__traceback__),
            "PARSE-BUDGET",
            f"parsing took longer than the {budget_seconds:g} s budget",
            "move slow work out of top-level code, into tasks",
        )
        return []
    except guards.ParseTimeAccessError:
        return []
    except BaseException as error:
        if _caused_by_access(error):
            return []
        rule_id, fix = _classify_import_error(error)
        line = error.lineno if isinstance(error, SyntaxError) and error.filename == path else None
        report.add(
            line or line_in_traceback(path, error.__traceback__),
            rule_id,
            f"{type(error).__name__}: {error}",
            fix,
        )
        return []
    finally:
        report.result.parse_seconds = round(time.perf_counter() - started, 4)
        DagContext.current_autoregister_module_name = None
    found = {id(value): value for value in vars(module).values() if isinstance(value, DAG)}
    found.update({id(dag): dag for dag, _module in DagContext.autoregistered_dags})
    DagContext.autoregistered_dags.clear()
    for dag in found.values():
        dag.fileloc = path
    return list(found.values())


def check_dag(dag: Any, report: Reporter, *, serialize: bool = True) -> None:
    """Apply Airflow's DAG checks, the cluster policies and serialization to one DAG."""
    from airflow.dag_processing.dagbag import _validate_executor_fields
    from airflow.exceptions import UnknownExecutorException
    from airflow.serialization.serialized_objects import DagSerialization

    at_dag = (dag.dag_id,)
    problems_before = len(report.result.problems)
    try:
        dag.validate()
    except Exception as error:
        rule_id, fix = _classify_validation_error(error)
        report.add_at(at_dag, rule_id, f"DAG '{dag.dag_id}': {error}", fix)
    try:
        dag.check_cycle()
    except Exception as error:
        report.add_at(at_dag, "CYCLE", str(error), "remove the dependency that closes the loop")
    _apply_policies(dag, report)
    try:
        _validate_executor_fields(dag)
    except UnknownExecutorException as error:
        if not report.has("EXECUTOR"):
            report.add_at(at_dag, "EXECUTOR", str(error), "use an executor listed in config/platform.yaml")
    if serialize and len(report.result.problems) == problems_before:
        try:
            DagSerialization.to_dict(dag)
        except Exception as error:
            report.add_at(
                at_dag,
                "SERIALIZATION",
                f"DAG '{dag.dag_id}' cannot be serialized: {error}",
                "pass only serializable values to DAG and operator arguments",
            )


def _apply_policies(dag: Any, report: Reporter) -> None:
    """Call the cluster policies through Airflow's policy manager, as ``DagBag.bag_dag`` does."""
    from airflow import settings
    from airflow.exceptions import AirflowClusterPolicySkipDag, AirflowClusterPolicyViolation

    targets = [(settings.dag_policy, dag, (dag.dag_id,))]
    targets += [(settings.task_policy, task, (task.task_id, dag.dag_id)) for task in dag.tasks]
    for policy, target, names in targets:
        try:
            policy(target)
        except AirflowClusterPolicySkipDag:
            return
        except AirflowClusterPolicyViolation as violation:
            rules = getattr(violation, "violations", None) or ()
            for rule in rules:
                if rule.line:
                    report.add(rule.line, rule.rule_id, rule.message, rule.fix)
                else:
                    report.add_at(names, rule.rule_id, rule.message, rule.fix)
            if not rules:
                report.add_at(names, "POLICY", str(violation), "change the DAG to satisfy the cluster policy")
        except Exception as error:
            message = f"a cluster policy failed: {type(error).__name__}: {error}"
            report.add_at(names, "POLICY", message, "fix the cluster policy")


def _classify_import_error(error: BaseException) -> tuple[str, str]:
    from airflow.sdk.exceptions import AirflowDagCycleException, AirflowTimetableInvalid

    message = str(error)
    if isinstance(error, SyntaxError):
        return "SYNTAX", "fix the syntax at the reported line"
    if isinstance(error, AirflowDagCycleException):
        return "CYCLE", "remove the dependency that closes the loop"
    if isinstance(error, AirflowTimetableInvalid) or re.search(r"schedule|cron", message, re.IGNORECASE):
        return "SCHEDULE", "use a cron expression, a preset such as @daily, a timedelta or a timetable"
    if "trigger_rule" in message:
        return "TRIGGER-RULE", "use a member of airflow.sdk.TriggerRule"
    if isinstance(error, ImportError):
        return "IMPORT", "fix the import, or add the package to the image's requirements"
    return "IMPORT", "fix the error raised while the file is imported"


def _classify_validation_error(error: BaseException) -> tuple[str, str]:
    rule_id, fix = _classify_import_error(error)
    if rule_id == "IMPORT":
        return "DAG-INVALID", "fix the DAG definition as the message says"
    return rule_id, fix


def _caused_by_access(error: BaseException | None) -> bool:
    seen = set()
    while error is not None and id(error) not in seen:
        if isinstance(error, guards.ParseTimeAccessError):
            return True
        seen.add(id(error))
        error = error.__cause__ or error.__context__
    return False


@contextlib.contextmanager
def _alarm(seconds: float) -> Iterator[None]:
    def expire(_signum, _frame):
        raise ParseBudgetExceeded

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@contextlib.contextmanager
def _recorded_warnings(path: str) -> Iterator[list[tuple[int | None, type[Warning], str]]]:
    found: list[tuple[int | None, type[Warning], str]] = []

    def record(message, category, filename, lineno, file=None, line=None):
        where = line_in_stack(path, sys._getframe(1)) or (lineno if filename == path else None)
        found.append((where, category, str(message)))

    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.showwarning = record
        yield found


def _one_line(message: str) -> str:
    first = " ".join(message.split())
    return first if len(first) <= MAX_MESSAGE_CHARS else first[: MAX_MESSAGE_CHARS - 3] + "..."
