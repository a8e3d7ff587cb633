"""The stand-in's GraphQL side: validate, execute with typed dummies, record every selection.

Each document is validated against the engine schema, then executed with a resolver that answers
typed dummies and records every selection as a :class:`~platform_devkit.dagger_replay.chains.Chain`.

Validation uses graphql-core's standard rules, ``PossibleFragmentSpreads`` included. The SDK disables
client-side validation because that rule rejects ``... on SomeInterface`` inside ``node(id:)`` when
the interface has no implementor in the schema (the engine runs a corrected rule). The SDK only
spreads concrete object types there (``Context.select_id``) and this module declares no interface, so
the false rejection cannot arise here (no replay of this module has one); should it, the replay
fails on that spread with the rule's message, and only that rule would need replacing.
"""

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import graphql

from platform_devkit.dagger_replay.answers import DEFAULT_ANSWERS, AnswerTable, SourceView, dummy_value
from platform_devkit.dagger_replay.chains import Chain, Registry, UnknownIdError
from platform_devkit.dagger_replay.schema import EngineSchema


@dataclass(frozen=True)
class Leaf:
    """A scalar the module read: the field, the object it was read from, and what the stand-in answered.

    Attributes:
        chain: The object the field was selected on; ``None`` for a scalar field of ``Query``.
        field: The field name.
        args: The arguments as sent.
        value: The answer.
    """

    chain: Chain | None
    field: str
    args: Mapping[str, Any]
    value: Any


@dataclass(frozen=True)
class RecordedQuery:
    """One GraphQL document the module sent, and what became of it.

    Attributes:
        document: The document text as received.
        variables: The variables sent with it.
        introspection: Whether it only asked for the schema (``__schema``/``__type``).
        errors: Error messages returned (schema validation or execution); empty when it succeeded.
        leaves: The scalars it read.
        chains: The object nodes its execution created, in order.
    """

    document: str
    variables: Mapping[str, Any]
    introspection: bool
    errors: tuple[str, ...]
    leaves: tuple[Leaf, ...] = ()
    chains: tuple[Chain, ...] = ()


@dataclass
class _Request:
    """What the resolvers of one document collect while it executes."""

    leaves: list[Leaf] = field(default_factory=list)
    chains: list[Chain] = field(default_factory=list)


class StandInEngine:
    """Validates, executes and records GraphQL documents; one instance per replayed module run.

    It answers from :data:`DEFAULT_ANSWERS` until :meth:`add_answers` adds a scenario's own.

    Args:
        schema: The engine schema.
    """

    def __init__(self, schema: EngineSchema) -> None:
        self.schema = schema
        self.registry = Registry()
        self._answers: dict[tuple[str, str], Any] = dict(DEFAULT_ANSWERS)
        self._lock = threading.Lock()
        self._queries: list[RecordedQuery] = []
        self._seeded: list[Chain] = []

    def add_answers(self, answers: AnswerTable) -> None:
        """Add scenario answers (they win over the ones already set); call before the module runs."""
        with self._lock:
            self._answers.update(answers)

    @property
    def queries(self) -> tuple[RecordedQuery, ...]:
        """Every document received so far, in order of arrival."""
        with self._lock:
            return tuple(self._queries)

    @property
    def chains(self) -> tuple[Chain, ...]:
        """Every object node: the seeded ones, then those the documents created, in order."""
        with self._lock:
            return (*self._seeded, *(chain for query in self._queries for chain in query.chains))

    def seed(self, path: str, args: Mapping[str, Any], origin: object = None) -> str:
        """Create an object the engine would hand the module (no query of the module made it).

        Args:
            path: The fields from ``Query`` that create it, dotted (``secret``, ``host.directory``).
            args: The arguments of the last field.
            origin: What it stands for (a :class:`SourceView` for a directory).

        Returns:
            The token of the seeded object, to pass as the module's input.
        """
        node: Chain | None = None
        owner = self.schema.schema.query_type
        names = path.split(".")
        for position, name in enumerate(names):
            assert isinstance(owner, graphql.GraphQLObjectType), f"{path}: {name} is not on an object type"
            returned = graphql.get_named_type(owner.fields[name].type)
            last = position == len(names) - 1
            node = Chain(
                parent=node,
                parent_type=owner.name,
                field=name,
                args=dict(args) if last else {},
                type_name=returned.name,
                origin=origin if last else None,
                seeded=True,
            )
            owner = returned
        assert node is not None
        with self._lock:
            self._seeded.append(node)
        return self.registry.token_for(node)

    def seed_directory(self, view: SourceView) -> str:
        """Seed ``host.directory(path:)`` of ``view``'s folder, answering ``glob``/``entries`` from it."""
        return self.seed("host.directory", {"path": str(view.root)}, origin=view)

    def seed_secret(self, uri: str) -> str:
        """Seed ``secret(uri:)``, e.g. ``env://REGISTRY_TOKEN`` as ``--password=env:REGISTRY_TOKEN`` does."""
        return self.seed("secret", {"uri": uri})

    def execute(self, document: str, variables: Mapping[str, Any] | None, operation: str | None) -> dict:
        """Validate and execute one document; return the GraphQL response (``data`` and/or ``errors``)."""
        variables = dict(variables or {})
        try:
            parsed = graphql.parse(document)
        except graphql.GraphQLError as error:
            self._record(RecordedQuery(document, variables, False, (error.message,)))
            return {"errors": [error.formatted]}
        introspection = _is_introspection(parsed)
        invalid = graphql.validate(self.schema.schema, parsed)
        if invalid:
            self._record(RecordedQuery(document, variables, introspection, _messages(invalid)))
            return {"errors": [error.formatted for error in invalid]}
        if introspection:
            # Introspection fields resolve themselves from the schema; the answer depends on the text.
            if variables:
                result = graphql.execute(self.schema.schema, parsed, variable_values=variables)
            else:
                result = self.schema.introspect(document)
            self._record(RecordedQuery(document, variables, True, _messages(result.errors or ())))
            return _response(result)
        request = _Request()
        result = graphql.execute(
            self.schema.schema,
            parsed,
            context_value=request,
            variable_values=variables,
            operation_name=operation,
            field_resolver=self._resolve,
            type_resolver=_type_of,
        )
        errors = _messages(result.errors or ())
        self._record(
            RecordedQuery(document, variables, False, errors, tuple(request.leaves), tuple(request.chains))
        )
        return _response(result)

    def _record(self, query: RecordedQuery) -> None:
        with self._lock:
            self._queries.append(query)

    def _resolve(self, source: Any, info: graphql.GraphQLResolveInfo, /, **kwargs: Any) -> Any:
        """Resolve every non-introspection field.

        ``source`` and ``info`` are positional-only: some fields have arguments of those names.
        """
        request: _Request = info.context
        parent = source if isinstance(source, Chain) else None
        parent_type, field_name = info.parent_type.name, info.field_name
        # Record the arguments as the module sent them: the engine applies the defaults itself.
        sent = {argument.name.value for argument in info.field_nodes[0].arguments or ()}
        args = {name: value for name, value in kwargs.items() if name in sent}
        refs = self._resolve_ids(info.parent_type, field_name, args)
        if (parent_type, field_name) == ("Query", "node"):
            return self._node(args["id"], info)
        named = graphql.get_named_type(info.return_type)
        if isinstance(named, graphql.GraphQLObjectType | graphql.GraphQLInterfaceType):
            return self._object(parent, info, args, refs, request)
        if named.name == "ID":
            value = self._id(parent, parent_type, field_name, args)
        else:
            found, value = self._answer(parent, parent_type, field_name, args)
            if not found:
                value = dummy_value(info.return_type)
        request.leaves.append(Leaf(parent, field_name, args, value))
        return value

    def _resolve_ids(
        self, owner: graphql.GraphQLObjectType | graphql.GraphQLInterfaceType, field_name: str, args: dict
    ) -> dict[str, Chain | tuple[Chain, ...]]:
        """Resolve every ID argument to its chain, checking the type its ``@expectedType`` names.

        Raises:
            GraphQLError: an ID the stand-in never handed out, or one of the wrong type; the message
                names the argument (the SDK raises it as a QueryError, so the replay fails there).
        """
        expected_types = self.schema.id_arguments(owner.name, field_name)
        refs: dict[str, Chain | tuple[Chain, ...]] = {}
        for name, argument in owner.fields[field_name].args.items():
            if name not in args or args[name] is None or graphql.get_named_type(argument.type).name != "ID":
                continue
            if (owner.name, field_name) == ("Query", "node"):
                continue  # node(id:) checks the type against its fragment instead
            value = args[name]
            tokens = value if isinstance(value, list) else [value]
            chains = []
            for token in tokens:
                try:
                    chain = self.registry.chain(token)
                except UnknownIdError:
                    raise graphql.GraphQLError(
                        f"argument '{name}' of {owner.name}.{field_name}: {token!r} is not an ID the engine "
                        "handed out"
                    ) from None
                expected = expected_types.get(name)
                if expected is not None and not self.schema.satisfies(chain.type_name, expected):
                    raise graphql.GraphQLError(
                        f"argument '{name}' of {owner.name}.{field_name} expects an ID of {expected}, got "
                        f"an ID of {chain.type_name} ({chain.describe(40)})"
                    )
                chains.append(chain)
            refs[name] = tuple(chains) if isinstance(value, list) else chains[0]
        return refs

    def _node(self, token: Any, info: graphql.GraphQLResolveInfo) -> Chain:
        """Resolve ``node(id:)`` to the chain behind the token, as ``... on Type`` expects it."""
        try:
            chain = self.registry.chain(token)
        except UnknownIdError:
            raise graphql.GraphQLError(f"node(id:): {token!r} is not an ID the engine handed out") from None
        selections = info.field_nodes[0].selection_set
        wanted = [
            selection.type_condition.name.value
            for selection in (selections.selections if selections else ())
            if isinstance(selection, graphql.InlineFragmentNode) and selection.type_condition
        ]
        if wanted and not any(self.schema.satisfies(chain.type_name, name) for name in wanted):
            raise graphql.GraphQLError(
                f"node(id:) loads an ID of {chain.type_name} as {' or '.join(wanted)} ({chain.describe(40)})"
            )
        return chain

    def _object(
        self,
        parent: Chain | None,
        info: graphql.GraphQLResolveInfo,
        args: dict,
        refs: dict[str, Chain | tuple[Chain, ...]],
        request: _Request,
    ) -> Chain | list[Chain]:
        """Answer an object-typed field with new chain nodes (list elements carry the scenario's data)."""
        parent_type, field_name = info.parent_type.name, info.field_name
        type_name = graphql.get_named_type(info.return_type).name
        found, answer = self._answer(parent, parent_type, field_name, args)
        if isinstance(graphql.get_nullable_type(info.return_type), graphql.GraphQLList):
            payloads = answer if found else []
            nodes = [
                Chain(parent, parent_type, field_name, args, type_name, refs, index=index, data=payload)
                for index, payload in enumerate(payloads)
            ]
            request.chains.extend(nodes)
            return nodes
        node = Chain(parent, parent_type, field_name, args, type_name, refs, data=answer if found else None)
        request.chains.append(node)
        return node

    def _id(self, parent: Chain | None, parent_type: str, field_name: str, args: dict) -> str:
        """Hand out the token of the object the ID field is selected on.

        ``id`` and the evaluating fields (``sync``, ``Service.start``, ``LLM.step``: their
        ``@expectedType`` is the type they are declared on) all return the ID of that object.

        Raises:
            GraphQLError: the field's ``@expectedType`` names another type (the replay would have to
                guess which object the engine returns).
        """
        node = parent or Chain(None, parent_type, field_name, args, parent_type)
        expected = self.schema.field_types.get((parent_type, field_name))
        if expected is not None and not self.schema.satisfies(node.type_name, expected):
            raise graphql.GraphQLError(f"{parent_type}.{field_name} returns an ID of {expected}: no replay")
        return self.registry.token_for(node)

    def _answer(
        self, chain: Chain | None, parent_type: str, field_name: str, args: Mapping[str, Any]
    ) -> tuple[bool, Any]:
        """Return ``(True, answer)`` from the node's data or the answer table, else ``(False, None)``."""
        if chain is not None and chain.data is not None and field_name in chain.data:
            return True, chain.data[field_name]
        if (parent_type, field_name) not in self._answers:
            return False, None
        answer = self._answers[parent_type, field_name]
        return True, answer(chain, args) if callable(answer) else answer


def _is_introspection(document: graphql.DocumentNode) -> bool:
    """Whether every operation only selects ``__schema``/``__type``/``__typename``."""
    operations = [d for d in document.definitions if isinstance(d, graphql.OperationDefinitionNode)]
    return bool(operations) and all(
        isinstance(selection, graphql.FieldNode) and selection.name.value.startswith("__")
        for operation in operations
        for selection in operation.selection_set.selections
    )


def _type_of(value: Any, _info: graphql.GraphQLResolveInfo, _abstract: graphql.GraphQLAbstractType) -> str:
    """Resolve an interface (``Node``) to the object type of the chain behind it."""
    return value.type_name


def _messages(errors: Any) -> tuple[str, ...]:
    return tuple(error.message for error in errors)


def _response(result: graphql.ExecutionResult) -> dict:
    response: dict[str, Any] = {"data": result.data}
    if result.errors:
        response["errors"] = [error.formatted for error in result.errors]
    return response
