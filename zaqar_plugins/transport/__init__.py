"""Transport drivers."""
