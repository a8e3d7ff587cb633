"""What the stand-in answers: typed dummies, and the few real answers a module needs to continue.

Every scalar field gets a dummy of its type (:func:`dummy_value`) unless a table names it. The table is
keyed by ``(TypeName, fieldName)``; a value is an answer as is, a callable is called with the chain the
field is read from and the arguments sent. :data:`DEFAULT_ANSWERS` is the one table of defaults;
a scenario passes its own entries on top (they win).
"""

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, Final

import graphql

from platform_devkit.dagger_replay.chains import Chain
from platform_devkit.dagger_replay.containers import base_image, execs

AnswerFunction = Callable[[Chain, Mapping[str, Any]], Any]
"""An answer computed from the chain a field is read from and the field's arguments."""

AnswerTable = Mapping[tuple[str, str], Any]
"""``(TypeName, fieldName)`` -> a value, or an :data:`AnswerFunction`."""

K3S_KUBECONFIG_PATH: Final = "/etc/rancher/k3s/k3s.yaml"
"""Where k3s writes its kubeconfig."""

K3S_KUBECONFIG: Final = """\
apiVersion: v1
kind: Config
clusters:
- cluster:
    certificate-authority-data: cmVwbGF5LWNsdXN0ZXItY2E=
    server: https://127.0.0.1:6443
  name: default
contexts:
- context:
    cluster: default
    user: default
  name: default
current-context: default
users:
- name: default
  user:
    client-certificate-data: cmVwbGF5LWNsaWVudC1jZXJ0
    client-key-data: cmVwbGF5LWNsaWVudC1rZXk=
"""
"""A kubeconfig shaped like the one k3s writes: its API on https://127.0.0.1:6443, dummy credentials."""

_SCALAR_DUMMIES: Final[Mapping[str, Any]] = {
    "String": "",
    "Int": 0,
    "Float": 0.0,
    "Boolean": False,
    "JSON": "null",
    "Void": None,
    "Platform": "linux/amd64",
}


def fake_digest(*parts: str) -> str:
    """Return ``sha256:<64 hex>`` derived from ``parts``: stable, and different for different inputs."""
    return "sha256:" + hashlib.sha256("\0".join(parts).encode()).hexdigest()


def dummy_value(output_type: graphql.GraphQLOutputType) -> Any:
    """Return the typed dummy for a leaf field of ``output_type``.

    Lists are empty, enums their first value, scalars a zero value (custom scalars without an entry in
    the dummy table: an empty string). IDs never get here: the stand-in hands out tokens for them.
    """
    unwrapped = graphql.get_nullable_type(output_type)
    if isinstance(unwrapped, graphql.GraphQLList):
        return []
    if isinstance(unwrapped, graphql.GraphQLEnumType):
        return next(iter(unwrapped.values))
    assert isinstance(unwrapped, graphql.GraphQLScalarType), f"not a leaf type: {output_type}"
    return _SCALAR_DUMMIES.get(unwrapped.name, "")


@dataclass(frozen=True)
class SourceView:
    """A folder of the machine as a seeded Directory shows it (the engine would load it from the host).

    Attributes:
        root: The folder.
        hidden: Paths relative to ``root`` the view leaves out (with everything below them), to replay
            a source that lacks a file.
    """

    root: Path
    hidden: frozenset[str] = frozenset()

    def _visible(self, relative: PurePosixPath) -> bool:
        return not any(str(path) in self.hidden for path in (relative, *relative.parents))

    def glob(self, base: str, pattern: str) -> list[str]:
        """Return the paths below ``base`` matching ``pattern``, relative to ``base``, sorted."""
        folder = self.root / base
        matches = []
        for path in folder.glob(pattern):
            relative = PurePosixPath(path.relative_to(folder).as_posix())
            if self._visible(PurePosixPath(base) / relative):
                matches.append(str(relative))
        return sorted(matches)

    def entries(self, base: str) -> list[str]:
        """Return the names in ``base``, directories with a trailing ``/``, sorted."""
        folder = self.root / base
        names = []
        for path in folder.iterdir():
            if self._visible(PurePosixPath(base) / path.name):
                names.append(f"{path.name}/" if path.is_dir() else path.name)
        return sorted(names)


def source_location(chain: Chain) -> tuple[SourceView, str] | None:
    """Return the view and the path inside it when ``chain`` is a seeded source or a subdirectory of one.

    Follows ``Directory.directory(path:)`` steps back to a node whose origin is a :class:`SourceView`.
    """
    if isinstance(chain.origin, SourceView):
        return chain.origin, "."
    if chain.parent is not None and chain.parent_type == "Directory" and chain.field == "directory":
        parent = source_location(chain.parent)
        if parent is not None:
            view, base = parent
            return view, str(PurePosixPath(base) / str(chain.args["path"]))
    return None


def _glob(chain: Chain, args: Mapping[str, Any]) -> list[str]:
    location = source_location(chain)
    return location[0].glob(location[1], str(args["pattern"])) if location else []


def _entries(chain: Chain, args: Mapping[str, Any]) -> list[str]:
    location = source_location(chain)
    if location is None:
        return []
    view, base = location
    return view.entries(str(PurePosixPath(base) / str(args.get("path") or ".")))


def _stdout(chain: Chain, _args: Mapping[str, Any]) -> str:
    ran = execs(chain)
    if ran and any(K3S_KUBECONFIG_PATH in arg for arg in ran[-1].argv):
        return K3S_KUBECONFIG
    return ""


DEFAULT_ANSWERS: Final[AnswerTable] = {
    # The seeded source answers from the real folder, so the module sees the repository's files.
    ("Directory", "glob"): _glob,
    ("Directory", "entries"): _entries,
    ("Directory", "digest"): lambda chain, _args: fake_digest(chain.digest),
    # Every command succeeds (the replay cannot know) and prints nothing...
    ("Container", "exitCode"): 0,
    ("Container", "stdout"): _stdout,  # ...except reading k3s's kubeconfig: K3S_KUBECONFIG.
    ("Container", "stderr"): "",
    ("Container", "combinedOutput"): "",
    # A push returns the address with the digest of what was pushed, as the engine does.
    ("Container", "publish"): lambda chain, args: f"{args['address']}@{fake_digest(chain.digest)}",
    ("Container", "imageRef"): lambda chain, _args: f"{base_image(chain)}@{fake_digest(chain.digest)}",
    # An export returns the path it wrote.
    ("Container", "export"): lambda _chain, args: args["path"],
    ("Directory", "export"): lambda _chain, args: args["path"],
    ("File", "export"): lambda _chain, args: args["path"],
}
"""The defaults: answers for the fields whose dummy would not let a module go on."""
