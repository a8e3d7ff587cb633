"""``platform-settings``: apply the pools, variables and connections of ``config/platform.yaml`` to Airflow.

The one applier of the platform settings. The Helm migration Job runs ``platform-settings apply`` in the
image right after ``airflow db migrate``; ``platform-dev`` and the end-to-end fixture run the same
command after theirs. It writes through Airflow's own database layer (as ``airflow pools import`` does),
so it needs the metadata database and no api-server, and it writes everything in one transaction after
validating everything: a bad input fails naming the file and the key, and nothing is applied.

Modules: :mod:`.connection_details` (the optional file of connection details), :mod:`.platform_section`
(the ``[platform]`` options of airflow.cfg), :mod:`.settings_plan` (validation: what would be written),
:mod:`.metadata_writer` (the transaction), :mod:`.settings_command` (the command line).
"""
