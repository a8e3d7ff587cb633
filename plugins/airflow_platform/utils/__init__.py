"""Small helpers shared by the platform's hooks, operators, sensors and triggers."""
