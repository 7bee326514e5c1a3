"""The transport contract."""
