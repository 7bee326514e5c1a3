"""Service clients of the plugin."""
