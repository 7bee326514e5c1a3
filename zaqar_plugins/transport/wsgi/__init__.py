"""The REST transport: a Pecan application served over WSGI."""
