"""Read a ``helm template`` / ``helm upgrade --install`` command line the way Helm reads it.

The chart tier renders the chart from the exact argv the deploy runs
(``airflow_platform_ci.helm.template_argv`` / ``upgrade_argv``). Every flag is either interpreted
here or refused, so the renderer cannot silently drift from the deploy: a new flag in the deploy
makes the render fail until someone decides what it means for the rendered manifests.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

from platform_devkit.chart.errors import ChartUsageError

VALUE_FLAGS: Final = ("--set-json", "--set", "--set-string", "--set-file", "--set-literal")
"""The value-setting flags, in the order Helm's ``values.Options.MergeValues`` applies them."""

_VALUE_OPTIONS: Final = {
    "--values": "values",
    "-f": "values",
    "--namespace": "namespace",
    "-n": "namespace",
    "--repo": "repo",
    "--version": "version",
    "--kube-version": "kube_version",
    "--timeout": None,
    "--history-max": None,
}
"""Options that take one argument: where the argument goes (``None``: no effect on the manifests)."""

_NO_EFFECT_SWITCHES: Final = frozenset(
    {"--install", "--create-namespace", "--atomic", "--rollback-on-failure", "--wait-for-jobs"}
)
"""Switches that change how a release is applied, never what is rendered."""

_WAITING: Final = frozenset({"true", "watcher", "legacy"})
"""``--wait`` strategies that wait for the release's resources (Helm 4; bare ``--wait`` is ``watcher``)."""
_NOT_WAITING: Final = frozenset({"false", "hookOnly"})
_SERVER_SIDE: Final = frozenset({"true", "false", "auto"})


@dataclass(frozen=True)
class HelmInvocation:
    """What a ``helm template`` or ``helm upgrade --install`` command line asks Helm to render.

    Attributes:
        command: ``template`` or ``upgrade``.
        release: The release name.
        chart: The chart reference (a name in ``repo``, or a path).
        repo: The ``--repo`` URL, or ``None``.
        version: The ``--version`` constraint, or ``None``.
        namespace: The ``--namespace``, or ``None`` (Helm then uses the context's namespace).
        kube_version: The ``--kube-version`` of ``helm template``, or ``None`` (an upgrade takes the
            cluster's).
        values_files: The ``--values`` files, in command-line order.
        value_flags: ``(flag, expression)`` for every ``--set*`` flag, in command-line order.
        wait: Whether the command waits for readiness (``--wait``, ``--atomic`` and
            ``--rollback-on-failure`` imply it); hooks then run around the wait, not within it.
    """

    command: str
    release: str
    chart: str
    repo: str | None = None
    version: str | None = None
    namespace: str | None = None
    kube_version: str | None = None
    values_files: tuple[str, ...] = ()
    value_flags: tuple[tuple[str, str], ...] = field(default=())
    wait: bool = False

    def flags_of(self, flag: str) -> list[str]:
        """Return the expressions given with one ``--set*`` flag, in command-line order."""
        return [expression for name, expression in self.value_flags if name == flag]


def _split(token: str) -> tuple[str, str | None]:
    if token.startswith("--") and "=" in token:
        name, _, value = token.partition("=")
        return name, value
    return token, None


def parse_helm_argv(argv: list[str] | tuple[str, ...]) -> HelmInvocation:
    """Parse a ``helm template`` or ``helm upgrade --install`` argv.

    Args:
        argv: The full command line, starting with ``helm``.

    Returns:
        The release, chart and values the command renders.

    Raises:
        ChartUsageError: not a ``helm template`` / ``helm upgrade --install`` command, a flag this
            module does not interpret, a missing argument, or an unexpected positional argument.
    """
    tokens = list(argv)
    if len(tokens) < 2 or tokens[0] != "helm" or tokens[1] not in {"template", "upgrade"}:
        raise ChartUsageError(f"not a `helm template` or `helm upgrade` command: {' '.join(tokens[:3])!r}")
    command = tokens[1]
    if command == "upgrade" and "--install" not in tokens:
        raise ChartUsageError("`helm upgrade` without --install is not a render of the release")
    found: dict[str, str] = {}
    values_files: list[str] = []
    value_flags: list[tuple[str, str]] = []
    positionals: list[str] = []
    wait = False
    index = 2
    while index < len(tokens):
        name, inline = _split(tokens[index])
        index += 1
        if not name.startswith("-"):
            positionals.append(name)
            continue
        if name in _VALUE_OPTIONS or name in VALUE_FLAGS:
            if inline is None:
                if index >= len(tokens):
                    raise ChartUsageError(f"{name} needs an argument")
                inline = tokens[index]
                index += 1
            if name in VALUE_FLAGS:
                value_flags.append((name, inline))
            elif _VALUE_OPTIONS[name] == "values":
                values_files.append(inline)
            elif _VALUE_OPTIONS[name] is not None:
                found[_VALUE_OPTIONS[name]] = inline
        elif name == "--wait" and (inline is None or inline in _WAITING | _NOT_WAITING):
            wait = inline not in _NOT_WAITING
        elif name == "--server-side" and (inline is None or inline in _SERVER_SIDE):
            continue
        elif name in _NO_EFFECT_SWITCHES and inline is None:
            wait = wait or name in {"--atomic", "--rollback-on-failure"}
        else:
            raise ChartUsageError(
                f"flag {tokens[index - 1]!r} is not interpreted by the chart renderer; "
                "teach platform_devkit.chart.invocation what it means for the rendered manifests"
            )
    if len(positionals) != 2:
        raise ChartUsageError(f"expected RELEASE and CHART, got {positionals}")
    release, chart = positionals
    return HelmInvocation(
        command=command,
        release=release,
        chart=chart,
        repo=found.get("repo"),
        version=found.get("version"),
        namespace=found.get("namespace"),
        kube_version=found.get("kube_version"),
        values_files=tuple(values_files),
        value_flags=tuple(value_flags),
        wait=wait,
    )
