"""Run the module the way Dagger's Python runtime does, against the stand-in session.

Dagger's Python SDK runtime (``sdk/python/runtime`` of dagger/dagger) starts the module as
``runtime.py`` (:data:`RUNTIME_ENTRYPOINT`) from the module's source folder, with the variables of
:meth:`ModuleLayout.runtime_env` plus the session port and token; for registration (``--register``)
it adds ``DAGGER_MODULE_FILE``, where the SDK writes the module's ID. The SDK then loads the main
object through the ``dagger.mod`` entry point of the installed package. Here the interpreter is
``sys.executable``: the project environment, where the module package is installed (editable) with
that entry point, as the runtime installs it.

One difference between the two environments matters to the SDK and is removed: the project
environment also holds ``httpx2`` (a dependency of the PagerDuty provider's client). gql 4.4 imports
``httpx2`` in place of ``httpx`` whenever it can, and then rejects the ``httpx`` objects the SDK hands
its transport (``Invalid type for url. Expected str or httpx2.URL``): the SDK cannot connect at all.
The runtime's module environment holds only the SDK's dependencies, without ``httpx2``, so the replay
hides the modules of :data:`HIDDEN_MODULES` from the module process (:data:`SITE_CUSTOMIZE`, loaded
through ``PYTHONPATH``) and gql uses ``httpx`` as it does in the engine.
"""

import json
import os
import subprocess
import sys
import tempfile
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from platform_devkit.dagger_replay.answers import AnswerTable, SourceView
from platform_devkit.dagger_replay.chains import Chain, Registry
from platform_devkit.dagger_replay.containers import containers_of
from platform_devkit.dagger_replay.engine import RecordedQuery, StandInEngine
from platform_devkit.dagger_replay.schema import load_schema, locate_schema
from platform_devkit.dagger_replay.server import StandInSession
from platform_devkit.dagger_replay.typedefs import module_typedefs

RUNTIME_ENTRYPOINT: Final = (
    'import sys\nfrom dagger.mod.cli import app\nsys.exit(app(None, "--register" in sys.argv[1:]))\n'
)
"""The runtime's ``runtime.py`` (``sdk/python/runtime/template/runtime.py``)."""

HIDDEN_MODULES: Final = ("httpx2",)
"""Top-level modules of the project environment that the runtime's module environment lacks."""

SITE_CUSTOMIZE: Final = f"""\
# Written by the Dagger replay: hide what the runtime's module environment does not install.
import importlib.abc
import sys

HIDDEN = {HIDDEN_MODULES!r}


class HideModules(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in HIDDEN:
            raise ModuleNotFoundError(f"No module named {{name!r}} (hidden by the replay)", name=name)
        return None


sys.meta_path.insert(0, HideModules())
"""
"""The ``sitecustomize`` module of the module process."""

DEFAULT_TIMEOUT: Final = 120.0
"""Seconds a replayed module run may take."""

_PASSED_THROUGH: Final = ("PATH", "HOME", "LANG", "TMPDIR")
"""Variables of this process the module process keeps; nothing else leaks into the replay."""


class ReplayFailedError(RuntimeError):
    """The module process could not be replayed (it hung, or never reached the stand-in)."""


@dataclass(frozen=True)
class ModuleLayout:
    """Where the module is and the names the runtime derives from ``dagger.json``.

    Attributes:
        repo: The repository root (where ``dagger.json`` is).
        name: The module name (``dagger.json`` ``name``).
        source: The module's source folder (``dagger.json`` ``source``): the runtime's working dir.
        python_package: The import package the runtime falls back to (the project name, snake_case).
        main_object: The main object's name: the module name in PascalCase.
    """

    repo: Path
    name: str
    source: Path
    python_package: str
    main_object: str

    @classmethod
    def from_repo(cls, repo: Path) -> "ModuleLayout":
        """Read ``dagger.json`` and the module's ``pyproject.toml``."""
        config = json.loads((repo / "dagger.json").read_text(encoding="utf-8"))
        source = repo / config.get("source", ".")
        project = tomllib.loads((source / "pyproject.toml").read_text(encoding="utf-8"))["project"]
        words = config["name"].replace("_", "-").split("-")
        return cls(
            repo=repo,
            name=config["name"],
            source=source,
            python_package=project["name"].replace("-", "_").replace(".", "_"),
            main_object="".join(word[:1].upper() + word[1:] for word in words),
        )

    def runtime_env(self) -> dict[str, str]:
        """The variables the runtime sets for the module process (without the session's)."""
        return {
            "DAGGER_MODULE": self.name,
            "DAGGER_DEFAULT_PYTHON_PACKAGE": self.python_package,
            "DAGGER_MAIN_OBJECT": self.main_object,
        }


@dataclass(frozen=True)
class EnvSecret:
    """A Secret input given as ``env:NAME`` on the command line: seeded as ``secret(uri: "env://NAME")``.

    Attributes:
        name: The environment variable's name.
    """

    name: str

    @property
    def uri(self) -> str:
        """The secret's URI."""
        return f"env://{self.name}"


@dataclass(frozen=True)
class ReplayError:
    """The error a function reported through ``returnError`` (``dag.error(message).withValue(...)``).

    Attributes:
        message: The error's message (the SDK prefixes the exception type).
        values: The values attached with ``withValue`` (JSON-decoded), e.g. the stack trace.
    """

    message: str
    values: Mapping[str, Any]


@dataclass(frozen=True)
class Replay:
    """What one module run sent to the stand-in.

    Attributes:
        queries: Every document, in order of arrival.
        chains: Every object node (seeded first).
        registry: Tokens and their chains.
        returncode: The module process's exit code.
        stderr: The module process's standard error (the SDK logs there).
    """

    queries: tuple[RecordedQuery, ...]
    chains: tuple[Chain, ...]
    registry: Registry
    returncode: int
    stderr: str

    def chain(self, token: str) -> Chain:
        """Return the chain behind an ID token."""
        return self.registry.chain(token)

    @property
    def rejected(self) -> list[RecordedQuery]:
        """The documents the stand-in answered with errors (the engine would have refused them)."""
        return [query for query in self.queries if query.errors]

    def describe(self) -> str:
        """A readable account for assertion messages: rejected documents and the process's stderr."""
        lines = [f"exit code {self.returncode}"]
        for query in self.rejected:
            lines += [f"rejected: {'; '.join(query.errors)}", f"  in: {query.document.strip()[:300]}"]
        return "\n".join([*lines, "stderr (tail):", *self.stderr.strip().splitlines()[-30:]])


@dataclass(frozen=True)
class Registration(Replay):
    """A replayed ``--register`` run.

    Attributes:
        module_id: The ID the SDK wrote to ``DAGGER_MODULE_FILE``, or ``None`` when it wrote none.
    """

    module_id: str | None

    @property
    def module(self) -> Chain:
        """The chain that built the module (``module.withDescription(...).withObject(...)``)."""
        if self.module_id is None:
            raise ReplayFailedError(f"the SDK registered no module\n{self.describe()}")
        return self.chain(self.module_id)

    @property
    def typedefs(self) -> dict[str, Any]:
        """The normalized, JSON-serialisable description of the registered types."""
        return module_typedefs(self.module)


@dataclass(frozen=True)
class Invocation(Replay):
    """A replayed function call.

    Attributes:
        function: The function called (as the SDK registered its name).
        seeds: The seeded inputs: ``parent.<field>`` and argument names -> their chains.
        value: The JSON value the function returned (an ID token for an object), if it returned.
        returned: Whether the SDK called ``returnValue``.
        error: The error it reported through ``returnError``, if any.
    """

    function: str
    seeds: Mapping[str, Chain]
    value: Any
    returned: bool
    error: ReplayError | None

    def containers(self) -> list[Chain]:
        """Return every container the function built.

        Those on the path of whatever it read or took the ID of, and those passed by ID (service
        bindings, copied files, mounted secrets...).
        """
        return containers_of(
            [leaf.chain for query in self.queries for leaf in query.leaves if leaf.chain is not None]
        )

    def evaluated_containers(self) -> list[Chain]:
        """Return the containers the function evaluated or returned, not those only passed to others.

        Evaluated: a scalar other than ``id`` was read on their path (``stdout``, ``exitCode``,
        ``sync``, ``publish``...).
        """
        evaluated = [
            leaf.chain
            for query in self.queries
            for leaf in query.leaves
            if leaf.chain is not None and leaf.field != "id"
        ]
        if isinstance(self.value, str) and self.value in self.registry:
            evaluated.append(self.chain(self.value))
        return containers_of(evaluated, follow_refs=False)


def _base_env() -> dict[str, str]:
    return {name: os.environ[name] for name in _PASSED_THROUGH if name in os.environ}


def _run_module(
    layout: ModuleLayout, engine: StandInEngine, *, register: bool, timeout: float
) -> tuple[subprocess.CompletedProcess[str], str | None]:
    """Run the runtime's entry point against a fresh stand-in session; return the process and module ID."""
    with tempfile.TemporaryDirectory(prefix="dagger-replay-") as scratch, StandInSession(engine) as session:
        entrypoint = Path(scratch) / "runtime.py"
        entrypoint.write_text(RUNTIME_ENTRYPOINT, encoding="utf-8")
        module_file = Path(scratch) / "module.json"
        site = Path(scratch) / "site"
        site.mkdir()
        (site / "sitecustomize.py").write_text(SITE_CUSTOMIZE, encoding="utf-8")
        env = {
            **_base_env(),
            "PYTHONPATH": str(site),
            **layout.runtime_env(),
            "DAGGER_SESSION_PORT": str(session.port),
            "DAGGER_SESSION_TOKEN": session.token,
        }
        argv = [sys.executable, str(entrypoint)]
        if register:
            env["DAGGER_MODULE_FILE"] = str(module_file)
            argv.append("--register")
        try:
            completed = subprocess.run(
                argv,
                cwd=layout.source,
                env=env,
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
                stdin=subprocess.DEVNULL,
            )
        except subprocess.TimeoutExpired as error:
            stderr = error.stderr.decode(errors="replace") if isinstance(error.stderr, bytes) else ""
            raise ReplayFailedError(f"the module did not finish within {timeout} s\n{stderr}") from error
        module_id = json.loads(module_file.read_text(encoding="utf-8")) if module_file.exists() else None
        return completed, module_id


def _engine(repo: Path, schema_path: Path | None) -> StandInEngine:
    return StandInEngine(load_schema(schema_path or locate_schema(repo)))


def replay_register(
    repo: Path, *, schema_path: Path | None = None, timeout: float = DEFAULT_TIMEOUT
) -> Registration:
    """Replay the module's registration (``runtime.py --register``).

    Args:
        repo: The repository root.
        schema_path: The engine schema; by default the one :func:`~.schema.locate_schema` finds.
        timeout: Seconds the module process may take.
    """
    engine = _engine(repo, schema_path)
    completed, module_id = _run_module(ModuleLayout.from_repo(repo), engine, register=True, timeout=timeout)
    return Registration(
        queries=engine.queries,
        chains=engine.chains,
        registry=engine.registry,
        returncode=completed.returncode,
        stderr=completed.stderr,
        module_id=module_id,
    )


def replay_invoke(
    repo: Path,
    function: str,
    args: Mapping[str, Any] | None = None,
    *,
    parent: Mapping[str, Any] | None = None,
    answers: AnswerTable | None = None,
    schema_path: Path | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> Invocation:
    """Replay one function call through the SDK's invoke path.

    The engine would first run the constructor, loading ``source`` (``DefaultPath("/")``) from the
    context directory; the replay seeds that state instead: the parent object is
    ``{"source": <token of host.directory(path: repo)>}`` unless ``parent`` says otherwise.

    Args:
        repo: The repository root.
        function: The function's name as registered (``dag_check``, not ``dagCheck``).
        args: Argument name -> value: JSON values as they are, :class:`EnvSecret` for a Secret,
            :class:`SourceView` for a Directory. Arguments left out get the function's defaults.
        parent: The parent object's state, valued like ``args``.
        answers: Scenario answers on top of the defaults.
        schema_path: The engine schema; by default the one :func:`~.schema.locate_schema` finds.
        timeout: Seconds the module process may take.
    """
    layout = ModuleLayout.from_repo(repo)
    engine = _engine(repo, schema_path)
    seeds: dict[str, Chain] = {}

    def seed(name: str, value: Any) -> Any:
        """Return the JSON input for ``value``: a seeded object's token, or the value itself."""
        if isinstance(value, EnvSecret):
            token = engine.seed_secret(value.uri)
        elif isinstance(value, SourceView):
            token = engine.seed_directory(value)
        else:
            return value
        seeds[name] = engine.registry.chain(token)
        return token

    parent = parent or {"source": SourceView(repo)}
    state = {name: seed(f"parent.{name}", value) for name, value in parent.items()}
    inputs = [{"name": name, "value": json.dumps(seed(name, value))} for name, value in (args or {}).items()]
    engine.add_answers(
        {
            # What dag.current_function_call() tells the SDK: which function of which object, with what.
            ("FunctionCall", "parentName"): layout.main_object,
            ("FunctionCall", "name"): function,
            ("FunctionCall", "parent"): json.dumps(state),
            ("FunctionCall", "inputArgs"): inputs,
            **(answers or {}),
        }
    )
    completed, _ = _run_module(layout, engine, register=False, timeout=timeout)
    returned = [leaf for query in engine.queries for leaf in query.leaves if leaf.field == "returnValue"]
    errors = [leaf for query in engine.queries for leaf in query.leaves if leaf.field == "returnError"]
    return Invocation(
        queries=engine.queries,
        chains=engine.chains,
        registry=engine.registry,
        returncode=completed.returncode,
        stderr=completed.stderr,
        function=function,
        seeds=seeds,
        value=json.loads(returned[-1].args["value"]) if returned else None,
        returned=bool(returned),
        error=_reported_error(errors[-1].args["error"], engine.registry) if errors else None,
    )


def _reported_error(token: str, registry: Registry) -> ReplayError:
    """Rebuild ``dag.error(message).withValue(name, value)...`` from its chain."""
    steps = registry.chain(token).steps
    values = {
        step.args["name"]: json.loads(step.args["value"]) for step in steps if step.field == "withValue"
    }
    return ReplayError(message=str(steps[0].args["message"]), values=values)
