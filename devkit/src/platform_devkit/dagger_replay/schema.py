"""The engine's GraphQL schema: where it is, how it is built, and what its ``@expectedType`` says.

The schema is data of the Dagger engine, not of this repository: it is never copied into the repo. Its
path comes from ``PLATFORM_DAGGER_SCHEMA``, by default the shared copy beside the repository
(``<repo>/../shared/dagger-engine/v0.21.8/schema.graphqls``).
"""

import functools
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import graphql

SCHEMA_ENV: Final = "PLATFORM_DAGGER_SCHEMA"
"""Environment variable holding the path of the engine schema (SDL)."""

ENGINE_SCHEMA_VERSION: Final = "v0.21.8"
"""The engine release whose schema the default path holds."""

HOW_TO_OBTAIN: Final = (
    f"set {SCHEMA_ENV} to the engine's GraphQL schema (SDL): dump it from a running engine with an "
    "introspection query, or take docs/docs-graphql/schema.graphqls of github.com/dagger/dagger at tag "
    f"{ENGINE_SCHEMA_VERSION}"
)


class SchemaUnavailableError(FileNotFoundError):
    """The engine schema file does not exist; the message says how to obtain it."""


def default_schema_path(repo: Path) -> Path:
    """Return where the schema is expected when ``PLATFORM_DAGGER_SCHEMA`` is unset.

    Args:
        repo: The repository root.
    """
    return repo.resolve().parent / "shared" / "dagger-engine" / ENGINE_SCHEMA_VERSION / "schema.graphqls"


def locate_schema(repo: Path) -> Path:
    """Return the schema path from ``PLATFORM_DAGGER_SCHEMA`` or the default, checking that it exists.

    Args:
        repo: The repository root (the default path is relative to it).

    Raises:
        SchemaUnavailableError: the file is missing.
    """
    configured = os.environ.get(SCHEMA_ENV)
    path = Path(configured) if configured else default_schema_path(repo)
    if not path.is_file():
        raise SchemaUnavailableError(f"the Dagger engine schema {path} does not exist: {HOW_TO_OBTAIN}")
    return path


def _expected_type(node: graphql.Node | None) -> str | None:
    """Return the ``name`` of an ``@expectedType(name: ...)`` directive on a definition node."""
    for directive in getattr(node, "directives", None) or ():
        if directive.name.value == "expectedType":
            for argument in directive.arguments:
                if argument.name.value == "name" and isinstance(argument.value, graphql.StringValueNode):
                    return argument.value.value
    return None


@dataclass(frozen=True)
class EngineSchema:
    """The engine schema built with graphql-core, plus the ID typing its directives declare.

    Attributes:
        path: The SDL file it was built from.
        schema: The executable schema (no resolvers; the stand-in supplies them).
        argument_types: ``(type, field)`` -> {ID argument -> the object type it expects}.
        field_types: ``(type, field)`` -> the object type an ID-returning field (``sync``...) returns.
    """

    path: Path
    schema: graphql.GraphQLSchema
    argument_types: Mapping[tuple[str, str], Mapping[str, str]]
    field_types: Mapping[tuple[str, str], str]
    _introspections: dict[str, graphql.ExecutionResult] = field(
        default_factory=dict, repr=False, compare=False
    )

    def introspect(self, document: str) -> graphql.ExecutionResult:
        """Execute an introspection document; the answer is computed once per document text.

        Every module run starts with the same introspection query (the SDK builds its queries from the
        schema it reads), and answering it costs more than everything else the run asks.
        """
        if document not in self._introspections:
            self._introspections[document] = graphql.graphql_sync(self.schema, document)
        return self._introspections[document]

    def satisfies(self, type_name: str, expected: str) -> bool:
        """Whether an object of ``type_name`` may stand where ``expected`` (object or interface) is asked."""
        if type_name == expected:
            return True
        named = self.schema.get_type(type_name)
        wanted = self.schema.get_type(expected)
        if isinstance(named, graphql.GraphQLObjectType | graphql.GraphQLInterfaceType) and isinstance(
            wanted, graphql.GraphQLInterfaceType
        ):
            return any(interface.name == expected for interface in named.interfaces)
        return False

    def id_arguments(self, type_name: str, field: str) -> Mapping[str, str]:
        """Return the ID arguments of ``type_name.field`` and the type each expects."""
        return self.argument_types.get((type_name, field), {})


@functools.cache
def load_schema(path: Path) -> EngineSchema:
    """Build the schema at ``path`` once per process (building takes a fraction of a second).

    Args:
        path: The SDL file.
    """
    schema = graphql.build_schema(path.read_text(encoding="utf-8"))
    argument_types: dict[tuple[str, str], dict[str, str]] = {}
    field_types: dict[tuple[str, str], str] = {}
    for type_name, named in schema.type_map.items():
        if not isinstance(named, graphql.GraphQLObjectType | graphql.GraphQLInterfaceType):
            continue
        for field_name, definition in named.fields.items():
            if expected := _expected_type(definition.ast_node):
                field_types[type_name, field_name] = expected
            for argument_name, argument in definition.args.items():
                if expected := _expected_type(argument.ast_node):
                    argument_types.setdefault((type_name, field_name), {})[argument_name] = expected
    return EngineSchema(path=path, schema=schema, argument_types=argument_types, field_types=field_types)
