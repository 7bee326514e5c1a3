"""SQL storage through SQLAlchemy and oslo.db: SQLite, PostgreSQL, MySQL."""
