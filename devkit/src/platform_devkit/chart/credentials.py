"""Credentials in clear in rendered objects: ConfigMap data and container ``env`` values.

A credential may reach a pod only from a Secret (``valueFrom.secretKeyRef``, ``envFrom.secretRef``
or a Secret volume). Flagged here: an env variable named like a credential with a literal
``value``; any env value or ConfigMap text holding a URL with a password; an ``airflow.cfg`` option
named like a credential with a value; a quoted literal assigned to a credential-named key in any
other ConfigMap text (YAML, Python).
"""

from __future__ import annotations

import configparser
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Final

from platform_devkit.chart.manifests import K8sObject, containers, embedded_pods, pod_spec
from platform_devkit.chart.validate import Problem

CREDENTIAL_NAME: Final = re.compile(
    r"(^pass$|password|passwd|secret|token|api_?key|private_?key|fernet_?key|secret_?key|sql_alchemy_conn"
    r"|^airflow_conn_.+)$",
    re.IGNORECASE,
)
"""Names that hold a credential: matched at the end of the name (``client_secret``, ``smtp_password``),
so that ``token_key`` (the name of a field) is not one."""
URL_WITH_PASSWORD: Final = re.compile(r"[a-z][a-z0-9+.-]*://[^/\s:@\"']+:[^/\s@\"']+@", re.IGNORECASE)
_LITERAL_ASSIGNMENT: Final = re.compile(
    r"""(?P<key>[A-Za-z_][\w.-]*)["']?\s*[:=]\s*(?P<quote>["'])(?P<value>[^"'\n]+)(?P=quote)"""
)
_YAML_SCALAR: Final = re.compile(
    r"""^\s*(?:-\s+)?(?P<key>[A-Za-z_][\w.-]*):[ \t]+(?P<value>[^\s"'|>&*#{\[][^\n#]*)$""", re.M
)


def _env_findings(ref: str, spec: Mapping[str, Any]) -> Iterator[Problem]:
    for field, container in containers(spec):
        for index, entry in enumerate(container.get("env") or []):
            path = f"spec.{field}[{container.get('name')}].env[{index}]"
            value = entry.get("value")
            if not isinstance(value, str) or not value.strip():
                continue
            if CREDENTIAL_NAME.search(str(entry.get("name", "")).lower()):
                yield Problem(ref, path, f"{entry['name']} is a literal value; take it from a secretKeyRef")
            elif URL_WITH_PASSWORD.search(value):
                yield Problem(ref, path, f"{entry.get('name')} holds a URL with a password")


def _cfg_findings(ref: str, key: str, text: str) -> Iterator[Problem]:
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    try:
        parser.read_string(text)
    except configparser.Error:
        return
    for section in parser.sections():
        for option, value in parser.items(section, raw=True):
            if value.strip() and CREDENTIAL_NAME.search(option):
                yield Problem(ref, f"data.{key}[{section}].{option}", "a credential in a ConfigMap")


def _text_findings(ref: str, key: str, text: str) -> Iterator[Problem]:
    if URL_WITH_PASSWORD.search(text):
        yield Problem(ref, f"data.{key}", "a URL with a password in a ConfigMap")
    for pattern in (_LITERAL_ASSIGNMENT, _YAML_SCALAR):
        for match in pattern.finditer(text):
            if CREDENTIAL_NAME.search(match["key"]):
                yield Problem(ref, f"data.{key}", f"{match['key']} is assigned a literal in a ConfigMap")


def credential_findings(objects: Sequence[K8sObject]) -> list[Problem]:
    """Return every credential in clear in ConfigMaps and container env values.

    Args:
        objects: The rendered release.

    Returns:
        One problem per finding, naming the object, the field and what to do.
    """
    problems: list[Problem] = []
    for item in objects:
        spec = pod_spec(item.body)
        if spec is not None:
            problems += _env_findings(item.ref, spec)
        if item.kind != "ConfigMap":
            continue
        for key, text in sorted((item.body.get("data") or {}).items()):
            if not isinstance(text, str):
                continue
            if key.endswith(".cfg"):
                problems += _cfg_findings(item.ref, key, text)
            else:
                problems += _text_findings(item.ref, key, text)
    for pod in embedded_pods(list(objects)):
        problems += _env_findings(pod.ref, pod.body.get("spec") or {})
    return problems
