"""The platform's Airflow notifiers."""
