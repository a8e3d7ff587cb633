"""Chains: what the module selected, field by field, from the root of the API to an object.

The SDK builds every query as one linear selection (``container { from(...) { withExec(...) { stdout }
} }``) and passes objects to other fields by ID. The stand-in answers each object-typed field with a
new :class:`Chain` node that links to its parent, and each ``id`` with a token that the
:class:`Registry` maps back to its chain. A chain therefore *is* the pipeline the engine would build.
"""

import hashlib
import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

TOKEN_PREFIX = "replay-id:"  # noqa: S105 - a marker of IDs, not a credential
"""Every ID the stand-in hands out starts with this, so a leaked token is easy to recognise."""


@dataclass(frozen=True, eq=False)
class Chain:
    """One selected object: its parent chain, the field that produced it and the arguments sent.

    Attributes:
        parent: The chain the field was selected on; ``None`` for a field of ``Query``.
        parent_type: The GraphQL type that declares ``field``.
        field: The field name as sent (camelCase).
        args: The arguments as sent (only those present in the query); IDs are tokens.
        type_name: The object type of this node (for a list field, the element type).
        refs: Arguments that carried IDs, resolved to their chains (a tuple for ID lists).
        index: Position in a list answer, for elements of an object list field.
        data: Answers the scenario attached to this node (field name -> value).
        origin: What a seeded node stands for (e.g. the repository folder behind a Directory).
        seeded: Created by the replay before the module ran, not by a query of the module.
        digest: Content hash of the node and its ancestry (two equal selections share it).
    """

    parent: "Chain | None"
    parent_type: str
    field: str
    args: Mapping[str, Any]
    type_name: str
    refs: Mapping[str, "Chain | tuple[Chain, ...]"] = field(default_factory=dict)
    index: int | None = None
    data: Mapping[str, Any] | None = None
    origin: object = None
    seeded: bool = False
    digest: str = field(init=False)

    def __post_init__(self) -> None:
        # The engine's IDs are content-addressed; so are the replay's, so two replays of the same
        # function with the same inputs produce the same tokens wherever the module is deterministic.
        identity = [
            self.parent.digest if self.parent else None,
            self.parent_type,
            self.field,
            self.args,
            self.index,
        ]
        encoded = json.dumps(identity, sort_keys=True, default=repr).encode()
        object.__setattr__(self, "digest", hashlib.sha256(encoded).hexdigest())

    @property
    def steps(self) -> tuple["Chain", ...]:
        """The nodes from the root field down to this one."""
        nodes: list[Chain] = []
        node: Chain | None = self
        while node is not None:
            nodes.append(node)
            node = node.parent
        return tuple(reversed(nodes))

    def describe(self, limit: int = 80) -> str:
        """Render the chain as ``root(args).field(args)...``, each argument shortened to ``limit`` chars."""

        def render(node: Chain) -> str:
            args = ", ".join(f"{name}: {_short(value, limit)}" for name, value in node.args.items())
            suffix = f"[{node.index}]" if node.index is not None else ""
            return f"{node.field}({args}){suffix}" if args else f"{node.field}{suffix}"

        return ".".join(render(node) for node in self.steps)


def _short(value: Any, limit: int) -> str:
    text = json.dumps(value, default=repr)
    return text if len(text) <= limit else text[: limit - 3] + "..."


class UnknownIdError(LookupError):
    """A token that the stand-in never handed out (or that is not a token at all)."""


class Registry:
    """Tokens handed out as IDs and the chains they stand for; safe to use from several threads."""

    def __init__(self) -> None:
        self._chains: dict[str, Chain] = {}
        self._lock = threading.Lock()

    def token_for(self, chain: Chain) -> str:
        """Return the token of ``chain`` (registering it on first use)."""
        token = f"{TOKEN_PREFIX}{chain.type_name}:{chain.digest[:32]}"
        with self._lock:
            self._chains.setdefault(token, chain)
        return token

    def chain(self, token: object) -> Chain:
        """Return the chain behind ``token``.

        Raises:
            UnknownIdError: ``token`` was never handed out.
        """
        with self._lock:
            found = self._chains.get(token) if isinstance(token, str) else None
        if found is None:
            raise UnknownIdError(f"unknown ID {token!r}")
        return found

    def __contains__(self, token: object) -> bool:
        with self._lock:
            return isinstance(token, str) and token in self._chains
