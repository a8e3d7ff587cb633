"""Real services on loopback for tests and local development.

Each module starts one server as a child process on a free loopback port, in its own temporary data
directory, waits until it answers, and stops it. When the matching ``PLATFORM_*`` environment variable
names an endpoint that is already running (the Dagger pipeline's service containers), the module uses
that endpoint instead of starting a process: one contract for native and containerised runs.
"""
