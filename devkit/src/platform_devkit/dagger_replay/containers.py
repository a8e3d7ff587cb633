"""Container chains: the containers a replayed function builds, step by step, and what they run.

Everything here is derived from the recorded selections, not from a list of Container fields: a
container is a run of ``Container`` nodes in a chain, its steps are those nodes (``from``,
``withExec``, ``withEnvVariable``, ``withServiceBinding``...), and every argument that carried an ID is
already resolved to the chain it stands for (:attr:`Chain.refs`), so service bindings, mounted secrets
and copied files lead to their own chains.
"""

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

from platform_devkit.dagger_replay.chains import Chain

CONTAINER = "Container"
"""The GraphQL type of containers."""


def container_steps(chain: Chain) -> tuple[Chain, ...]:
    """Return the steps of the container ``chain`` ends in: the run of Container nodes up to it.

    The first step is where the container comes from (``Query.container``, ``Directory.dockerBuild``...).

    Raises:
        ValueError: ``chain`` is not a Container.
    """
    if chain.type_name != CONTAINER:
        raise ValueError(f"not a container: {chain.describe()}")
    steps = chain.steps
    start = len(steps) - 1
    while start > 0 and steps[start - 1].type_name == CONTAINER:
        start -= 1
    return steps[start:]


def base_image(chain: Chain) -> str:
    """Return what the container starts from.

    The address of its (last) ``from``; ``dockerBuild:<dockerfile>`` for an image built from a
    Dockerfile; otherwise ``<Type>.<field>`` of its first step (``Query.container`` is an empty rootfs).
    """
    steps = container_steps(chain)
    for step in reversed(steps):
        if step.field == "from":
            return str(step.args["address"])
    first = steps[0]
    if first.field == "dockerBuild":
        return f"dockerBuild:{first.args.get('dockerfile', 'Dockerfile')}"
    return f"{first.parent_type}.{first.field}"


def service_container(service: Chain) -> Chain:
    """Return the container a Service chain was made from (the node before ``asService``).

    Raises:
        ValueError: ``service`` does not come from a container.
    """
    if service.parent is None or service.parent.type_name != CONTAINER:
        raise ValueError(f"not a container service: {service.describe()}")
    return service.parent


@dataclass(frozen=True)
class Exec:
    """One ``withExec`` of a container.

    Attributes:
        argv: The command line.
        args: Every argument of the ``withExec`` as sent (``expect``, ``redirectStdout``...).
        step: The ``withExec`` node.
        env: Variables set before it: plain values (``withEnvVariable``) as strings, secrets
            (``withSecretVariable``) as the chain of the Secret.
    """

    argv: tuple[str, ...]
    args: Mapping[str, object]
    step: Chain
    env: Mapping[str, "str | Chain"]


def execs(chain: Chain) -> list[Exec]:
    """Return the execs of the container ``chain`` ends in, in order, with the variables each sees."""
    env: dict[str, str | Chain] = {}
    found: list[Exec] = []
    for step in container_steps(chain):
        name = step.args.get("name")
        if step.field == "withEnvVariable":
            env[str(name)] = str(step.args["value"])
        elif step.field == "withSecretVariable":
            secret = step.refs["secret"]
            assert isinstance(secret, Chain)
            env[str(name)] = secret
        elif step.field in {"withoutEnvVariable", "withoutSecretVariable"}:
            env.pop(str(name), None)
        elif step.field == "withExec":
            argv = tuple(str(arg) for arg in step.args["args"])
            found.append(Exec(argv=argv, args=dict(step.args), step=step, env=dict(env)))
    return found


def _walk(chain: Chain, follow_refs: bool, followed: set[str]) -> Iterator[Chain]:
    """Yield every container that ends a run of Container nodes on ``chain``'s path (and its refs).

    ``followed`` holds the nodes whose refs were already visited, so shared ancestry is walked once.
    """
    steps = chain.steps
    for position, node in enumerate(steps):
        last_of_run = position == len(steps) - 1 or steps[position + 1].type_name != CONTAINER
        if node.type_name == CONTAINER and last_of_run:
            yield node
        if follow_refs and node.digest not in followed:
            followed.add(node.digest)
            for ref in node.refs.values():
                for referenced in ref if isinstance(ref, tuple) else (ref,):
                    yield from _walk(referenced, follow_refs, followed)


def containers_of(chains: Iterable[Chain], *, follow_refs: bool = True) -> list[Chain]:
    """Return the containers on the paths of ``chains``, each once, in the order they are met.

    Args:
        chains: Chains the module used (the objects it read fields of, or took IDs of).
        follow_refs: Also visit the chains passed by ID (services, files, secrets, directories...).
    """
    followed: set[str] = set()
    found: dict[str, Chain] = {}
    for chain in chains:
        for container in _walk(chain, follow_refs, followed):
            found.setdefault(container.digest, container)
    return list(found.values())
