"""Write a :class:`~platform_tools.settings_apply.settings_plan.SettingsPlan` in one database transaction.

Through Airflow's own models, as ``airflow pools import``, ``variables import`` and ``connections
import`` do, but in one session: pools, then variables, then connections, committed together at the
end; any error rolls everything back. Existing entries are overwritten (each write is an upsert);
entries that are not in the plan are left alone.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from platform_tools.settings_apply.settings_plan import PlannedConnection, SettingsPlan


def write_plan(plan: SettingsPlan) -> None:
    """Write the plan to the metadata database, all or nothing.

    Raises:
        sqlalchemy.exc.SQLAlchemyError: The database refused a write; the transaction was rolled back.
    """
    # The ORM models of the metadata database (airflow.sdk's Variable is the tasks' API client).
    from airflow.models.pool import Pool
    from airflow.models.variable import Variable
    from airflow.utils.session import create_session

    # create_session commits when the block ends and rolls back when it raises.
    with create_session() as session:
        for pool in plan.pools:
            Pool.create_or_update_pool(
                pool.name, pool.slots, pool.description, include_deferred=False, session=session
            )
        for variable in plan.variables:
            Variable.set(variable.key, variable.value, description=variable.description, session=session)
        for connection in plan.connections:
            _upsert_connection(session, connection)
        session.flush()


def _upsert_connection(session: Session, planned: PlannedConnection) -> None:
    from airflow.models.connection import Connection
    from sqlalchemy import select

    details = planned.details
    connection = Connection(
        conn_id=planned.spec.conn_id,
        conn_type=planned.spec.conn_type,
        description=planned.spec.description,
        host=details.host,
        port=details.port,
        login=details.login,
        password=details.password,
        schema=details.schema,
        extra=details.extra,
    )
    # As `airflow connections import --overwrite`: an existing id keeps its primary key.
    existing = session.scalar(select(Connection.id).where(Connection.conn_id == planned.spec.conn_id))
    if existing is not None:
        connection.id = existing
    session.merge(connection)
