"""``ephemeral-secrets``: fresh Secrets for a throw-away environment (``cluster-e2e``, a local dev).

The release reads every credential from a Secret created before the install (helm/SECRETS.md). For
environments that live minutes and hold no data, this command generates all of them at once, with
fresh random values, as one Kubernetes ``List`` (JSON, which ``kubectl apply -f -`` takes). The same
material serves ``platform-dev`` natively (:func:`generate`).

It refuses staging and prod: their credentials come from the team's secret manager, never from a
generator. Nothing it generates is logged; only the output carries it.

    ephemeral-secrets --env dev --namespace airflow-dev > secrets.json
"""

from __future__ import annotations

import argparse
import base64
import json
import re
import secrets
import sys
from dataclasses import dataclass, field
from typing import Any

from platform_devkit.helm_values import load_layer
from platform_devkit.repository import REPO_ROOT

EPHEMERAL_ENVIRONMENTS = ("dev",)
"""Environments whose Secrets may be generated: the ones that are created and destroyed by a run."""
ADMIN_USERNAME = "platform-admin"
"""The bootstrap user of values-dev.yaml's ``createUserJob``; its password is in ``airflow-dev-admin``."""
RELEASE = "airflow"
_NAMESPACE = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")
CONNECTIONS_RESOURCE = "airflow-connections"


def connection_ids() -> tuple[str, ...]:
    """Return the keys of the Secret :data:`CONNECTIONS_RESOURCE` that values.yaml maps to connections."""
    values = load_layer(REPO_ROOT / "helm" / "values.yaml").values
    return tuple(
        entry["secretKey"] for entry in values["secret"] if entry["secretName"] == CONNECTIONS_RESOURCE
    )


class EphemeralSecretsError(ValueError):
    """A request this command refuses (an environment that is not ephemeral, a bad namespace)."""


@dataclass(frozen=True)
class EphemeralMaterial:
    """The random material of one throw-away Airflow deployment; ``repr`` shows none of it."""

    fernet_key: str = field(repr=False)
    api_secret_key: str = field(repr=False)
    jwt_secret: str = field(repr=False)
    admin_password: str = field(repr=False)
    database_password: str = field(repr=False)
    redis_password: str = field(repr=False)

    def airflow_config(self) -> dict[str, str]:
        """The material as Airflow configuration variables (how a local Airflow receives it)."""
        return {
            "AIRFLOW__CORE__FERNET_KEY": self.fernet_key,
            "AIRFLOW__API__SECRET_KEY": self.api_secret_key,
            "AIRFLOW__API_AUTH__JWT_SECRET": self.jwt_secret,
        }


def generate() -> EphemeralMaterial:
    """Return fresh random material: a Fernet key, the API and JWT secrets, three passwords."""
    return EphemeralMaterial(
        fernet_key=base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
        api_secret_key=secrets.token_hex(32),
        jwt_secret=secrets.token_hex(64),
        admin_password=secrets.token_urlsafe(18),
        database_password=secrets.token_hex(24),
        redis_password=secrets.token_hex(24),
    )


def _secret(name: str, namespace: str, data: dict[str, str]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": {"app.kubernetes.io/managed-by": "ephemeral-secrets"},
        },
        "type": "Opaque",
        "stringData": data,
    }


def manifests(env: str, namespace: str, material: EphemeralMaterial) -> dict[str, Any]:
    """Return the environment's Secrets (those helm/SECRETS.md lists for it) as a Kubernetes ``List``.

    The connection Secret holds endpoints inside the throw-away namespace only; the DAGs that need
    real services (MLflow, S3, Slack) cannot reach anything outside it.

    Raises:
        EphemeralSecretsError: ``env`` is not an ephemeral environment, or ``namespace`` is not a
            namespace name.
    """
    if not _NAMESPACE.fullmatch(namespace):
        raise EphemeralSecretsError(f"namespace {namespace!r} is not a valid RFC 1123 label")
    if env not in EPHEMERAL_ENVIRONMENTS:
        raise EphemeralSecretsError(
            f"refusing to generate Secrets for {env!r}: only {', '.join(EPHEMERAL_ENVIRONMENTS)} is "
            "ephemeral; staging and prod Secrets come from your secret manager (helm/SECRETS.md)"
        )
    database_url = (
        f"postgresql://postgres:{material.database_password}@{RELEASE}-postgresql.{namespace}:5432/postgres"
    )
    connections = {
        conn_id: f"http://{conn_id.replace('_', '-')}.{namespace}.invalid" for conn_id in connection_ids()
    }
    connections["aws_default"] = "aws://?region_name=us-east-1"
    items = [
        _secret("airflow-fernet-key", namespace, {"fernet-key": material.fernet_key}),
        _secret("airflow-api-secret-key", namespace, {"api-secret-key": material.api_secret_key}),
        _secret("airflow-jwt-secret", namespace, {"jwt-secret": material.jwt_secret}),
        _secret("airflow-metadata", namespace, {"connection": database_url}),
        _secret(
            "airflow-broker-url",
            namespace,
            {"connection": f"redis://:{material.redis_password}@{RELEASE}-redis.{namespace}:6379/0"},
        ),
        _secret("airflow-redis-password", namespace, {"password": material.redis_password}),
        _secret(CONNECTIONS_RESOURCE, namespace, connections),
        _secret(
            "airflow-git-credentials",
            namespace,
            {"connection": json.dumps({"conn_type": "git", "host": f"file:///opt/airflow/{namespace}"})},
        ),
        _secret("airflow-dev-postgres", namespace, {"postgres-password": material.database_password}),
        _secret("airflow-dev-admin", namespace, {"password": material.admin_password}),
    ]
    return {"apiVersion": "v1", "kind": "List", "items": items}


def main(argv: list[str] | None = None) -> int:
    """Print the Secrets of a throw-away environment as a Kubernetes List (JSON)."""
    parser = argparse.ArgumentParser(prog="ephemeral-secrets", description=__doc__.split("\n\n")[0])
    parser.add_argument("--env", required=True, help="the environment (only dev is ephemeral)")
    parser.add_argument("--namespace", required=True, help="the namespace the release goes to")
    args = parser.parse_args(argv)
    try:
        document = manifests(args.env, args.namespace, generate())
    except EphemeralSecretsError as error:
        print(f"ephemeral-secrets: error: {error}", file=sys.stderr)
        return 2
    json.dump(document, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
