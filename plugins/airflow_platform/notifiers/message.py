"""The platform's alert message: DAG, task, run and log URL, for task failures and missed deadlines.

The templates are Jinja, rendered by the notifier with the callback's context. They work with both
contexts Airflow 3.3 passes:

- task/DAG callbacks (``on_failure_callback``): ``dag``, ``dag_run`` (an object), ``run_id``, ``ti``;
- deadline alerts: ``dag_run`` (a dict: ``dag_id``, ``dag_run_id``, ...) and ``deadline``; no ``ti``.
"""

from __future__ import annotations

DAG_ID = "{{ dag_run.dag_id if dag_run is defined else (dag.dag_id if dag is defined else 'unknown') }}"
RUN_ID = "{{ run_id if run_id is defined else (dag_run.dag_run_id if dag_run is defined else 'unknown') }}"
TASK_ID = "{{ ti.task_id if ti is defined and ti else '-' }}"
LOG_URL = "{{ ti.log_url if ti is defined and ti else '-' }}"
EVENT = (
    "{% if deadline is defined %}deadline missed ({{ deadline.deadline_time }})"
    "{% elif ti is defined and ti %}task failed"
    "{% else %}DAG run alert{% endif %}"
)

TITLE = f"[Airflow] {DAG_ID}: {EVENT}"
"""One line: the DAG and what happened (Slack text's first line, PagerDuty summary, e-mail subject)."""

DETAILS = f"DAG: {DAG_ID}\nTask: {TASK_ID}\nRun: {RUN_ID}\nLog: {LOG_URL}"
"""The lines naming DAG, task, run and log URL."""

TEXT = f"{TITLE}\n{DETAILS}"
"""The plain-text message (Slack)."""

HTML = (
    f"<p>{TITLE}</p><ul><li>DAG: {DAG_ID}</li><li>Task: {TASK_ID}</li><li>Run: {RUN_ID}</li>"
    f'<li>Log: <a href="{LOG_URL}">{LOG_URL}</a></li></ul>'
)
"""The HTML message (e-mail)."""
