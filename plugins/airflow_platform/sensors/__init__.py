"""The platform's Airflow sensors."""
