"""Run the DAG gate: ``python -m platform_tools.dag_check``."""

from platform_tools.dag_check.cli import main

raise SystemExit(main())
