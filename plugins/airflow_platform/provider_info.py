"""Provider metadata, returned through the ``apache_airflow_provider`` entry point.

With the entry point ``[project.entry-points.apache_airflow_provider] provider_info =
"airflow_platform.provider_info:get_provider_info"`` in pyproject.toml, ``airflow providers list``
shows the package. ``package-name`` must equal the distribution name (Airflow checks it).
The connection types ``mlflow`` and ``kubeflow_pipelines`` are declared with their form fields
(``conn-fields``, ``ui-field-behaviour``), which Airflow reads without importing the hooks. No
``plugins``: the ``airflow.plugins`` entry point registers ``AirflowPlatformPlugin``; listing it here
too would make Airflow report it as registered twice.
"""

from __future__ import annotations

from typing import Any

PACKAGE = "airflow_platform"


def _modules(kind: str, *names: str) -> list[str]:
    return [f"{PACKAGE}.{kind}.{name}" for name in names]


CONNECTION_TYPES = [
    {
        "connection-type": "mlflow",
        "hook-class-name": f"{PACKAGE}.hooks.mlflow.MLflowHook",
        "hook-name": "MLflow",
        "ui-field-behaviour": {
            "hidden-fields": ["extra"],
            "relabeling": {
                "host": "Tracking server (URL or host)",
                "schema": "Scheme or base path",
                "login": "Username (basic auth)",
                "password": "Token or password",
            },
            "placeholders": {
                "host": "https://mlflow.example.com",
                "schema": "https, or a base path such as mlflow",
                "login": "empty for a bearer token",
            },
        },
    },
    {
        "connection-type": "kubeflow_pipelines",
        "hook-class-name": f"{PACKAGE}.hooks.kubeflow.KubeflowPipelinesHook",
        "hook-name": "Kubeflow Pipelines",
        "ui-field-behaviour": {
            "hidden-fields": ["login", "extra"],
            "relabeling": {"host": "API (URL or host)", "password": "Bearer token"},
            "placeholders": {"host": "https://kubeflow.example.com/pipeline"},
        },
        "conn-fields": {
            "namespace": {
                "label": "Namespace",
                "description": "The KFP namespace of a multi-user deployment.",
                "schema": {"type": ["string", "null"]},
            },
            "verify_ssl": {
                "label": "Verify TLS certificates",
                "description": "Check the API server's certificate (default: true).",
                "schema": {"type": ["boolean", "null"], "default": True},
            },
        },
    },
]
"""The connection types this provider registers, with their form fields."""


def get_provider_info() -> dict[str, Any]:
    """Return the provider's metadata (validated by Airflow against ``provider_info.schema.json``)."""
    integrations = {
        "MLflow": "mlflow",
        "Kubeflow Pipelines": "kubeflow",
        "Great Expectations": "great_expectations",
    }
    return {
        "package-name": "airflow-platform",
        "name": "Airflow Platform",
        "description": "The platform's MLflow, Kubeflow Pipelines and Great Expectations integrations.",
        "integrations": [{"integration-name": name, "tags": ["software"]} for name in integrations],
        "connection-types": CONNECTION_TYPES,
        "hooks": [
            {"integration-name": name, "python-modules": _modules("hooks", module)}
            for name, module in integrations.items()
        ],
        "operators": [
            {"integration-name": name, "python-modules": _modules("operators", module)}
            for name, module in integrations.items()
        ],
        "sensors": [
            {"integration-name": "MLflow", "python-modules": _modules("sensors", "mlflow")},
            {"integration-name": "Kubeflow Pipelines", "python-modules": _modules("sensors", "kubeflow")},
            {"integration-name": "Great Expectations", "python-modules": _modules("sensors", "data_quality")},
        ],
        "triggers": [
            {"integration-name": "MLflow", "python-modules": _modules("triggers", "mlflow")},
            {"integration-name": "Kubeflow Pipelines", "python-modules": _modules("triggers", "kubeflow")},
            {
                "integration-name": "Great Expectations",
                "python-modules": _modules("triggers", "data_quality"),
            },
        ],
        "notifications": [
            f"{PACKAGE}.notifiers.slack.PlatformSlackNotifier",
            f"{PACKAGE}.notifiers.pagerduty.PlatformPagerdutyNotifier",
            f"{PACKAGE}.notifiers.email.PlatformEmailNotifier",
        ],
    }
