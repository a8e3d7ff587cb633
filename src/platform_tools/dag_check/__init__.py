"""``dag-check``: the CI gate that parses every DAG file in isolation under the production settings.

It applies the platform's cluster policies (``plugins/airflow_local_settings.py``) through Airflow's own
policy manager and adds what only CI can check: syntax and import errors, cycles, schedules, trigger
rules, deprecation warnings, Variable/Connection access at parse time, a per-file parse-time budget and
duplicate ``dag_id`` values across files.
"""
