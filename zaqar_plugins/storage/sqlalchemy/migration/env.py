"""Alembic environment: runs on the connection the caller hands over."""

from alembic import context

from zaqar_plugins.storage.sqlalchemy import tables

connection = context.config.attributes.get('connection')
if connection is None:
    raise RuntimeError('Run migrations through "zaqar-manage db upgrade".')

context.configure(connection=connection, target_metadata=tables.metadata,
                  render_as_batch=connection.dialect.name == 'sqlite')
with context.begin_transaction():
    context.run_migrations()
