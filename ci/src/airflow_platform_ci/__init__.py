"""Dagger module of the Airflow platform: build, check, test, publish, deploy, run locally.

The SDK loads the main object ``AirflowPlatform`` (the module name ``airflow-platform`` in PascalCase)
from this package, through the ``dagger.mod`` entry point declared in ``ci/pyproject.toml``.
"""

from airflow_platform_ci.main import AirflowPlatform as AirflowPlatform
