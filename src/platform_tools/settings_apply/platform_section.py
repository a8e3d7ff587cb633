"""The ``[platform]`` section of Airflow's configuration: each environment's values of declared variables.

The Helm overlays set ``config.platform.<variable>`` (``environment``, ``data_lake_bucket``), which the
chart writes into airflow.cfg; a local deployment sets ``AIRFLOW__PLATFORM__<VARIABLE>``. Airflow's
configuration reads both, the environment first. Every option of the section must name a variable of
``config/platform.yaml`` (:mod:`.settings_plan` checks it), so a misspelt option fails the applier.
"""

from __future__ import annotations

import os

SECTION = "platform"
ENV_PREFIX = f"AIRFLOW__{SECTION.upper()}__"
# Airflow reads an option from AIRFLOW__SECTION__KEY, or from the command / secret named by these.
ENV_SUFFIXES = ("_CMD", "_SECRET")


def platform_options() -> dict[str, str]:
    """Return every option of ``[platform]`` (airflow.cfg and ``AIRFLOW__PLATFORM__*``) with its value.

    Imports Airflow's configuration, which reads ``$AIRFLOW_CONFIG`` (default
    ``$AIRFLOW_HOME/airflow.cfg``) and the environment.
    """
    from airflow.configuration import conf

    names = set(conf.options(SECTION)) if conf.has_section(SECTION) else set()
    for variable in os.environ:
        if variable.startswith(ENV_PREFIX):
            name = variable.removeprefix(ENV_PREFIX)
            for suffix in ENV_SUFFIXES:
                name = name.removesuffix(suffix)
            names.add(name.lower())
    return {name: conf.get(SECTION, name) for name in sorted(names)}
