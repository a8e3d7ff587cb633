"""What each sensor and trigger waits for, as sans-IO checks on the hooks' calls (one module per service)."""
