"""Command-line tools and test services of the airflow-platform repository."""
