"""zaqar_plugins: the drivers, each a stevedore entry point in setup.cfg."""
