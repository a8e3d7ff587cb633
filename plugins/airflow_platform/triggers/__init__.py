"""The platform's Airflow triggers."""
