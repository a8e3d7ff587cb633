"""The waiting core: sans-IO checks, one shared poller per service, the trigger and sensor bases.

A *condition* (see :mod:`airflow_platform.conditions`) is a sans-IO check: a generator that yields the
calls it needs, receives their answers and returns an :class:`~airflow_platform.polling.checks.Outcome`
(done) or ``None`` (not yet). A sensor's ``poke`` drives it with its hook's blocking client; a trigger
hands it to the :class:`~airflow_platform.polling.poller.SharedPoller` of its service, which answers
the checks of all triggers waiting on that service with as few requests as the API allows.
"""
