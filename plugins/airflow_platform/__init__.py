"""The platform's Airflow provider package: MLflow, Kubeflow Pipelines and Great Expectations."""
