"""The platform's Airflow hooks."""
