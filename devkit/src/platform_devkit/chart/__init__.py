"""The official Airflow chart rendered offline, checked like the chart's own helm-tests.

- :mod:`~platform_devkit.chart.source`: where the chart comes from (an env var, the cache, the network).
- :mod:`~platform_devkit.chart.invocation`, :mod:`~platform_devkit.chart.values`,
  :mod:`~platform_devkit.chart.render`: render from the deploy's exact ``helm`` argv (needs
  ``helm-python-sdk``, CPython >= 3.12).
- :mod:`~platform_devkit.chart.manifests`: rendered text to objects, pod specs, embedded pods.
- :mod:`~platform_devkit.chart.validate`: strict Kubernetes schema validation.
- :mod:`~platform_devkit.chart.netpol`: NetworkPolicy evaluation and the required network paths.
- :mod:`~platform_devkit.chart.credentials`: credentials in clear in ConfigMaps and env values.
- :mod:`~platform_devkit.chart.images`: the images a release runs, and those not pinned by digest.
- :mod:`~platform_devkit.chart.cli`: the ``chart-check`` command.
"""
