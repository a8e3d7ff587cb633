"""OpenLineage datasets of what our operators read and write: S3 objects, database tables, MLflow objects.

When the OpenLineage provider is configured, its listener asks each finished task's operator for
``get_openlineage_facets_on_complete``; an operator of this package answers with the datasets it
recorded while it ran (:class:`LineageReporter`). Names follow the OpenLineage naming spec:

- S3: namespace ``s3://<bucket>``, name ``<key>``;
- PostgreSQL: namespace ``postgres://<host>:<port>``, name ``<database>.<schema>.<table>``;
- local files: namespace ``file://``, name the absolute path;
- MLflow, which the spec does not name: namespace ``mlflow://<host>[:<port>]`` of the tracking
  server, name ``models/<registered model>`` (the version in a dataset-version facet) or
  ``runs/<run id>``.

Nothing here imports OpenLineage until the listener asks, so DAG parsing and a disabled provider
cost nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from airflow.providers.openlineage.extractors import OperatorLineage

DEFAULT_SCHEMA = "public"


@dataclass(frozen=True)
class LineageDataset:
    """A dataset a task read or wrote, named the OpenLineage way.

    Attributes:
        namespace: Where it lives, e.g. ``s3://bucket`` or ``postgres://host:5432``.
        name: What it is there, e.g. the key, ``db.schema.table`` or ``models/churn``.
        version: Its version, when the store versions it (an MLflow model version).
    """

    namespace: str
    name: str
    version: str | None = None

    def to_openlineage(self) -> Any:
        """Return the OpenLineage ``Dataset`` (with a version facet when the version is known)."""
        from airflow.providers.common.compat.openlineage.facet import Dataset
        from openlineage.client.generated.dataset_version_dataset import DatasetVersionDatasetFacet

        facets = {"version": DatasetVersionDatasetFacet(datasetVersion=self.version)} if self.version else {}
        return Dataset(namespace=self.namespace, name=self.name, facets=facets)


def s3_object(uri: str) -> LineageDataset:
    """The dataset of ``s3://bucket/key``."""
    parts = urlsplit(uri)
    return LineageDataset(namespace=f"s3://{parts.netloc}", name=parts.path.lstrip("/"))


def local_file(path: str) -> LineageDataset:
    """The dataset of a file on the worker's disk."""
    return LineageDataset(namespace="file://", name=path)


def database_table(conn_id: str, table: str) -> LineageDataset:
    """The dataset of ``[schema.]table`` in the database of the Airflow connection ``conn_id``.

    Raises:
        airflow.sdk.exceptions.AirflowNotFoundException: the connection does not exist.
    """
    from airflow.sdk import BaseHook

    conn = BaseHook.get_connection(conn_id)
    schema, _, name = table.rpartition(".")
    scheme = "postgres" if conn.conn_type in {"postgres", "postgresql"} else conn.conn_type
    return LineageDataset(
        namespace=f"{scheme}://{conn.host}:{conn.port or 5432}",
        name=f"{conn.schema}.{schema or DEFAULT_SCHEMA}.{name}",
    )


def data_source(path: str | None, table: str | None, conn_id: str | None) -> tuple[LineageDataset, ...]:
    """The dataset a data-quality source reads: an S3 object, a local file or a table; none for a query."""
    if path:
        return (s3_object(path),) if path.startswith("s3://") else (local_file(path),)
    if table and conn_id:
        return (database_table(conn_id, table),)
    return ()


def mlflow_object(tracking_uri: str, name: str, version: str | None = None) -> LineageDataset:
    """The dataset of an MLflow object (``models/<name>``, ``runs/<id>``) on the tracking server."""
    return LineageDataset(namespace=f"mlflow://{urlsplit(tracking_uri).netloc}", name=name, version=version)


class LineageReporter:
    """Mixin of our operators and sensors: report the datasets recorded while the task ran.

    The OpenLineage listener calls :meth:`get_openlineage_facets_on_complete` on the operator that
    ran, in the same process, so what :meth:`record_lineage` kept during ``execute`` is there.
    """

    _lineage_inputs: tuple[LineageDataset, ...] = ()
    _lineage_outputs: tuple[LineageDataset, ...] = ()

    def record_lineage(
        self, *, inputs: tuple[LineageDataset, ...] = (), outputs: tuple[LineageDataset, ...] = ()
    ) -> None:
        """Keep the datasets this run read (``inputs``) and wrote (``outputs``)."""
        self._lineage_inputs = (*self._lineage_inputs, *inputs)
        self._lineage_outputs = (*self._lineage_outputs, *outputs)

    def lineage_on_complete(self) -> tuple[tuple[LineageDataset, ...], tuple[LineageDataset, ...]]:
        """The ``(inputs, outputs)`` to report; by default what :meth:`record_lineage` kept."""
        return self._lineage_inputs, self._lineage_outputs

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> OperatorLineage:
        """Report the task's inputs and outputs to the OpenLineage provider."""
        from airflow.providers.openlineage.extractors import OperatorLineage

        inputs, outputs = self.lineage_on_complete()
        return OperatorLineage(
            inputs=[dataset.to_openlineage() for dataset in inputs],
            outputs=[dataset.to_openlineage() for dataset in outputs],
        )
