"""The v2 actions. Importing :mod:`zaqar_core.api.v2.actions` registers
every one of them in :data:`zaqar_core.api.v2.registry.ACTIONS`."""
