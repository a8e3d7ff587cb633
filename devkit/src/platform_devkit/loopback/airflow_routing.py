"""END-TO-END ONLY: run tasks pinned to ``executor="KubernetesExecutor"`` on Celery workers.

Production runs ``executor = CeleryExecutor,KubernetesExecutor``; training tasks name the
``KubernetesExecutor`` and run as pods. The end-to-end tests and the local dev command have no
Kubernetes cluster, so they configure instead (one line)::

    executor = CeleryExecutor,KubernetesExecutor:platform_devkit.loopback.airflow_routing.
               KubernetesTasksOnCeleryExecutor

Airflow's executor loader resolves a task's ``executor`` field by alias first, so the alias
``KubernetesExecutor`` names this class: the DAGs, their cluster policies and the serialized tasks are
unchanged (still ``KubernetesExecutor``), and the scheduler hands those tasks to a second Celery
executor instance. Airflow refuses the same module path twice in the executor list, hence a subclass in
its own module. This is the only difference between the end-to-end Airflow and production.
"""

from __future__ import annotations

from airflow.providers.celery.executors.celery_executor import CeleryExecutor


class KubernetesTasksOnCeleryExecutor(CeleryExecutor):
    """The Celery executor, configured under the alias ``KubernetesExecutor`` where no cluster exists."""
