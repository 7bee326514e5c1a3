"""zaqar_core: the Zaqar v2 API core (configuration, API actions, policy,
storage and transport contracts, bootstrap)."""
