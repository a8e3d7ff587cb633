"""Apply the platform settings: ``python -m platform_tools.settings_apply``."""

from platform_tools.settings_apply.settings_command import main

raise SystemExit(main())
