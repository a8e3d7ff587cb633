"""Evaluate rendered NetworkPolicies: may these pods reach those pods on that port?

A small model of the NetworkPolicy semantics (``networking.k8s.io/v1``): a pod is isolated for
ingress (egress) when a policy in its namespace selects it with that policy type; isolated traffic
is allowed when one rule of one selecting policy admits the peer and the port. Peers are matched by
labels (``podSelector``, ``namespaceSelector``, both); ``ipBlock`` peers never match a pod here,
since pods are known by labels, not addresses.

:data:`REQUIRED_PATHS` lists the paths Airflow 3 needs in our release; :func:`cut_paths` reports
each one the rendered policies cut, with the values key that opens it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from platform_devkit.chart.manifests import K8sObject, containers, embedded_pods, pod_labels, pod_spec
from platform_devkit.chart.validate import Problem

NAMESPACE_NAME_LABEL: Final = "kubernetes.io/metadata.name"
"""The label Kubernetes puts on every namespace with its name; namespace peers select on it."""
POD_TEMPLATE_KEY: Final = "pod_template_file.yaml"


def selector_matches(selector: Mapping[str, Any] | None, labels: Mapping[str, str]) -> bool:
    """Whether a label selector (``matchLabels`` and ``matchExpressions``) selects ``labels``.

    An empty selector selects everything; ``None`` (absent) selects nothing.
    """
    if selector is None:
        return False
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expression in selector.get("matchExpressions") or []:
        key, operator, values = expression["key"], expression["operator"], expression.get("values") or []
        present = key in labels
        if operator == "In" and not (present and labels[key] in values):
            return False
        if operator == "NotIn" and present and labels[key] in values:
            return False
        if operator == "Exists" and not present:
            return False
        if operator == "DoesNotExist" and present:
            return False
    return True


@dataclass(frozen=True)
class Pods:
    """A set of pods, known by their labels and their namespace's labels.

    Attributes:
        name: How reports name them (``Deployment/airflow-worker``, ``the ingress controller``).
        namespace: Their namespace.
        labels: Their pod labels.
        namespace_labels: Their namespace's labels (``kubernetes.io/metadata.name`` at least).
        ports: Their named container ports (name to number).
    """

    name: str
    namespace: str
    labels: Mapping[str, str]
    namespace_labels: Mapping[str, str] = field(default_factory=dict)
    ports: Mapping[str, int] = field(default_factory=dict)

    def namespace_view(self) -> Mapping[str, str]:
        """The namespace's labels, with the name label Kubernetes always sets."""
        return {NAMESPACE_NAME_LABEL: self.namespace, **self.namespace_labels}


def _policy_types(spec: Mapping[str, Any]) -> list[str]:
    if spec.get("policyTypes"):
        return list(spec["policyTypes"])
    return ["Ingress", "Egress"] if "egress" in spec else ["Ingress"]


def _peer_matches(peer: Mapping[str, Any], policy_namespace: str, pods: Pods) -> bool:
    if "ipBlock" in peer:
        return False
    if "namespaceSelector" in peer:
        if not selector_matches(peer["namespaceSelector"], pods.namespace_view()):
            return False
    elif pods.namespace != policy_namespace:
        return False
    return "podSelector" not in peer or selector_matches(peer["podSelector"], pods.labels)


def _port_matches(rule_port: Mapping[str, Any], target: Pods, port: int, protocol: str) -> bool:
    if rule_port.get("protocol", "TCP") != protocol:
        return False
    if "port" not in rule_port:
        return True
    wanted = rule_port["port"]
    if isinstance(wanted, str) and not wanted.isdigit():
        return target.ports.get(wanted) == port
    low = int(wanted)
    return low <= port <= int(rule_port.get("endPort", low))


@dataclass(frozen=True)
class Verdict:
    """Whether a connection is allowed, and which policies decided.

    Attributes:
        allowed: The connection is allowed both ways it is checked (egress of the source, ingress
            of the target).
        reason: Why not (``""`` when allowed).
    """

    allowed: bool
    reason: str = ""


def _direction(
    policies: Sequence[K8sObject],
    namespace: str,
    isolated: Pods,
    peer: Pods,
    target: Pods,
    port: int,
    protocol: str,
    kind: str,
) -> Verdict:
    rules_key, peers_key = ("ingress", "from") if kind == "Ingress" else ("egress", "to")
    selecting = []
    for policy in policies:
        spec = policy.body.get("spec") or {}
        policy_namespace = (policy.body.get("metadata") or {}).get("namespace") or namespace
        if policy_namespace != isolated.namespace or kind not in _policy_types(spec):
            continue
        if not selector_matches(spec.get("podSelector", {}), isolated.labels):
            continue
        selecting.append(policy)
        for rule in spec.get(rules_key) or []:
            peers, ports = rule.get(peers_key), rule.get("ports")
            peer_ok = not peers or any(_peer_matches(item, policy_namespace, peer) for item in peers)
            port_ok = not ports or any(_port_matches(item, target, port, protocol) for item in ports)
            if peer_ok and port_ok:
                return Verdict(True)
    if not selecting:
        return Verdict(True)
    names = ", ".join(policy.ref for policy in selecting)
    verb = "isolates" if len(selecting) == 1 else "isolate"
    return Verdict(False, f"{names} {verb} {isolated.name} for {kind.lower()} and no rule admits {peer.name}")


def evaluate(
    policies: Sequence[K8sObject],
    source: Pods,
    target: Pods,
    port: int,
    protocol: str = "TCP",
    namespace: str | None = None,
) -> Verdict:
    """Decide whether ``source`` pods may open a connection to ``target`` pods on ``port``.

    Args:
        policies: The NetworkPolicies (objects of other kinds are ignored).
        source: The client pods.
        target: The server pods (their named ports resolve named policy ports).
        port: The target port number.
        protocol: ``TCP``, ``UDP`` or ``SCTP``.
        namespace: Where policies without ``metadata.namespace`` live: the release namespace
            (default: the target's namespace).

    Returns:
        Allowed only when the source's egress and the target's ingress both allow it.
    """
    network_policies = [item for item in policies if item.kind == "NetworkPolicy"]
    home = namespace or target.namespace
    egress = _direction(network_policies, home, source, target, target, port, protocol, "Egress")
    if not egress.allowed:
        return egress
    return _direction(network_policies, home, target, source, target, port, protocol, "Ingress")


@dataclass(frozen=True)
class External:
    """Pods outside the release, described by the labels their namespace and they carry.

    Attributes:
        name: How reports name them.
        namespace_labels: Labels of their namespace (``kubernetes.io/metadata.name`` identifies it).
        labels: Their pod labels.
    """

    name: str
    namespace_labels: Mapping[str, str]
    labels: Mapping[str, str] = field(default_factory=dict)

    def pods(self) -> Pods:
        """The pods, in the namespace the name label names."""
        return Pods(
            self.name,
            self.namespace_labels.get(NAMESPACE_NAME_LABEL, "?"),
            self.labels,
            self.namespace_labels,
        )


INGRESS_CONTROLLER: Final = External(
    "the ingress controller (ingress-nginx)",
    {NAMESPACE_NAME_LABEL: "ingress-nginx"},
    {"app.kubernetes.io/name": "ingress-nginx", "app.kubernetes.io/component": "controller"},
)
"""ingress-nginx's controller pods in its namespace ``ingress-nginx`` (ingressClassName ``nginx``)."""
MONITORING: Final = External(
    "Prometheus (namespace monitoring)",
    {NAMESPACE_NAME_LABEL: "monitoring"},
    {"app.kubernetes.io/name": "prometheus"},
)
"""The scrapers: any pod of the namespace ``monitoring``."""

TASK_PODS: Final = "task-pods"
"""Source/target name of the KubernetesExecutor task pods (the chart's pod template)."""


@dataclass(frozen=True)
class RequiredPath:
    """A connection Airflow 3 needs in our release.

    Attributes:
        name: Short identifier, used in reports.
        source: An Airflow ``component`` label, :data:`TASK_PODS`, or pods outside the release.
        target: The ``component`` label of the server pods.
        port: The name of the server's container port.
        values_key: What admits the path: a values key of the chart, or our network release.
    """

    name: str
    source: str | External
    target: str
    port: str
    values_key: str


NETWORK_RELEASE: Final = (
    "helm/network-policies, the <release>-network release (chart 1.21.0's {} policy admits only the "
    "Airflow 2 webserver)"
)

REQUIRED_PATHS: Final = (
    RequiredPath(
        "ingress->api-server",
        INGRESS_CONTROLLER,
        "api-server",
        "api-server",
        "apiServer.networkPolicy.ingress.from",
    ),
    RequiredPath(
        "celery-workers->api-server (Execution API)",
        "worker",
        "api-server",
        "api-server",
        "apiServer.networkPolicy.ingress.from",
    ),
    RequiredPath(
        "task-pods->api-server (Execution API)",
        TASK_PODS,
        "api-server",
        "api-server",
        "apiServer.networkPolicy.ingress.from",
    ),
    RequiredPath(
        "api-server->worker-logs", "api-server", "worker", "worker-logs", NETWORK_RELEASE.format("worker")
    ),
    RequiredPath(
        "api-server->triggerer-logs",
        "api-server",
        "triggerer",
        "triggerer-logs",
        NETWORK_RELEASE.format("triggerer"),
    ),
    RequiredPath(
        "monitoring->statsd-metrics", MONITORING, "statsd", "statsd-scrape", "statsd.extraNetworkPolicies"
    ),
    RequiredPath(
        "monitoring->pgbouncer-metrics", MONITORING, "pgbouncer", "metrics", "pgbouncer.extraNetworkPolicies"
    ),
)
"""The paths the release must keep open. Monitoring is the namespace ``monitoring``, the ingress
controller the namespace ``ingress-nginx`` (both by ``kubernetes.io/metadata.name``)."""


def _named_ports(spec: Mapping[str, Any]) -> dict[str, int]:
    return {
        port["name"]: int(port["containerPort"])
        for _, container in containers(spec)
        for port in container.get("ports") or []
        if port.get("name")
    }


def release_pods(objects: Sequence[K8sObject], namespace: str) -> dict[str, list[Pods]]:
    """Return the release's pods by ``component`` label, plus the task pods under :data:`TASK_PODS`.

    Pods come from the long-running workloads (Deployments, StatefulSets, DaemonSets) and from the
    KubernetesExecutor pod template the chart carries in a ConfigMap.
    """
    found: dict[str, list[Pods]] = {}
    for item in objects:
        spec = pod_spec(item.body)
        if spec is None or item.kind not in {"Deployment", "StatefulSet", "DaemonSet"}:
            continue
        labels = pod_labels(item.body)
        pods = Pods(item.ref, namespace, labels, ports=_named_ports(spec))
        found.setdefault(labels.get("component", ""), []).append(pods)
    for pod in embedded_pods(list(objects)):
        if pod.key == POD_TEMPLATE_KEY:
            labels = dict((pod.body.get("metadata") or {}).get("labels") or {})
            spec = pod.body.get("spec") or {}
            name = f"KubernetesExecutor task pods ({pod.ref})"
            found.setdefault(TASK_PODS, []).append(Pods(name, namespace, labels, ports=_named_ports(spec)))
    return found


def cut_paths(
    objects: Sequence[K8sObject], namespace: str, paths: Sequence[RequiredPath] = REQUIRED_PATHS
) -> list[Problem]:
    """Return one problem per required path the rendered NetworkPolicies cut.

    A path whose source or target is not rendered (PgBouncer in dev) does not apply.

    Args:
        objects: The rendered release.
        namespace: The release namespace (where objects without ``metadata.namespace`` live).
        paths: The paths to check.

    Returns:
        Problems naming the target workload, the port and the source, why the path is cut and the
        values key that opens it.
    """
    pods = release_pods(objects, namespace)
    problems = []
    for path in paths:
        sources = [path.source.pods()] if isinstance(path.source, External) else pods.get(path.source, [])
        for target in pods.get(path.target, []):
            if path.port not in target.ports:
                problems.append(
                    Problem(target.name, f"port {path.port}", f"no such container port ({path.name})")
                )
                continue
            number = target.ports[path.port]
            for source in sources:
                verdict = evaluate(objects, source, target, number, namespace=namespace)
                if not verdict.allowed:
                    problems.append(
                        Problem(
                            target.name,
                            f"port {path.port} ({number}/TCP) from {source.name}",
                            f"required network path {path.name} is cut: {verdict.reason}; "
                            f"opened by {path.values_key}",
                        )
                    )
    return problems
