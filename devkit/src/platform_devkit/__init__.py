"""Test and development support of the Airflow platform; never part of the shipped package."""
