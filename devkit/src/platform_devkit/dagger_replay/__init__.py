"""The engine replay: the module's own Dagger code, run by the SDK against a stand-in engine session.

The replay runs the Dagger Python SDK's module code in a subprocess exactly as Dagger's Python runtime
does (the runtime's ``runtime.py``, the ``dagger.mod`` entry point of ``ci/pyproject.toml``, the
runtime's environment variables, the module's source folder as working directory). Only the GraphQL
session is replaced: :class:`StandInSession` is a real HTTP server on a loopback port that validates
every document against the engine's real schema and answers with typed dummies, recording each
selection as a :class:`Chain`. It is a test helper of this project, not a fake of Dagger: the SDK's
code, the module's code and the engine's schema are the real ones.

What a replay shows:

- every query the module sends, validated against the engine's schema (fields, arguments, their
  types, and the object type each ID argument expects, ``@expectedType``); a document the engine
  would reject is answered with an error naming the field or argument, so the module fails there;
- the registration: the types, functions, arguments, docs, defaults, cache policies and checks the
  SDK registers (:func:`replay_register`, :attr:`Registration.typedefs`);
- for each function (:func:`replay_invoke`), the containers it builds, step by step, from the image
  they start from to every exec, variable, secret, mount and service binding
  (:mod:`~platform_devkit.dagger_replay.containers`), and the result or error it reports.

What it cannot show: the results of execs (every command "succeeds" with empty output, unless a
scenario answer says otherwise), the contents of images and files, whether the commands would
succeed, and the engine's caching and scheduling (which execs it would actually run, reuse or run
concurrently).
"""

from platform_devkit.dagger_replay.answers import DEFAULT_ANSWERS, AnswerTable, SourceView
from platform_devkit.dagger_replay.chains import Chain, Registry
from platform_devkit.dagger_replay.containers import (
    Exec,
    base_image,
    container_steps,
    containers_of,
    execs,
    service_container,
)
from platform_devkit.dagger_replay.engine import Leaf, RecordedQuery, StandInEngine
from platform_devkit.dagger_replay.runner import (
    EnvSecret,
    Invocation,
    ModuleLayout,
    Registration,
    ReplayError,
    ReplayFailedError,
    replay_invoke,
    replay_register,
)
from platform_devkit.dagger_replay.schema import (
    SCHEMA_ENV,
    EngineSchema,
    SchemaUnavailableError,
    load_schema,
    locate_schema,
)
from platform_devkit.dagger_replay.server import StandInSession

__all__ = [
    "DEFAULT_ANSWERS",
    "SCHEMA_ENV",
    "AnswerTable",
    "Chain",
    "EngineSchema",
    "EnvSecret",
    "Exec",
    "Invocation",
    "Leaf",
    "ModuleLayout",
    "RecordedQuery",
    "Registration",
    "Registry",
    "ReplayError",
    "ReplayFailedError",
    "SchemaUnavailableError",
    "SourceView",
    "StandInEngine",
    "StandInSession",
    "base_image",
    "container_steps",
    "containers_of",
    "execs",
    "load_schema",
    "locate_schema",
    "replay_invoke",
    "replay_register",
    "service_container",
]
