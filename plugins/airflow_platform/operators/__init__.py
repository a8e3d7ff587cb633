"""The platform's Airflow operators."""
