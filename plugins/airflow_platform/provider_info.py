"""Provider metadata, returned through the ``apache_airflow_provider`` entry point.

With the entry point ``[project.entry-points.apache_airflow_provider] provider_info =
"airflow_platform.provider_info:get_provider_info"`` in pyproject.toml, ``airflow providers list``
shows the package. ``package-name`` must equal the distribution name (Airflow checks it).
No ``connection-types``: the hooks use the ``http``/``postgres``/``aws`` types of existing providers.
No ``plugins``: ``plugins/airflow_platform_plugin.py`` registers ``AirflowPlatformPlugin`` from the
plugins folder; listing it here too would make Airflow report it as registered twice.
"""

from __future__ import annotations

from typing import Any

PACKAGE = "airflow_platform"


def _modules(kind: str, *names: str) -> list[str]:
    return [f"{PACKAGE}.{kind}.{name}" for name in names]


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
