"""Redis storage driver (``redis`` in both storage namespaces)."""
