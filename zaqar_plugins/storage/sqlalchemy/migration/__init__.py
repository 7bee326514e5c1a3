"""Schema migrations (alembic), run by ``zaqar-manage db ...`` and, for
SQLite, automatically when the server starts."""

import io
import logging
import threading

import sqlalchemy as sa

from zaqar_core.storage import errors
from zaqar_plugins.storage.sqlalchemy import engine as sql_engine


def _quiet_alembic() -> None:
    """Alembic logs INFO lines as it loads (each plugin it sets up) and on
    every run (each step); the callers say what changed. Shown when
    debugging, or when the operator set alembic's level."""
    logger = logging.getLogger('alembic')
    if logger.level == logging.NOTSET and \
            not logging.getLogger().isEnabledFor(logging.DEBUG):
        logger.setLevel(logging.WARNING)


# Before alembic loads: it logs as it imports.
_quiet_alembic()

from alembic import command  # noqa: E402
from alembic import config as alembic_config  # noqa: E402
from alembic import migration as alembic_migration  # noqa: E402
from alembic import script as alembic_script  # noqa: E402

SCRIPT_LOCATION = 'zaqar_plugins.storage.sqlalchemy:migration'

#: Alembic runs a migration through module-level state (its ``context``
#: proxy): one at a time per process, as a server migrates the pools it
#: is given from several request threads.
_RUNNING = threading.Lock()


#: Upstream Zaqar's revisions (001_liberty to 007_stein): a database at
#: one of them holds upstream's management store. Upstream's own upgrade
#: stops at 006 on SQLite and PostgreSQL, so deployments sit at 005.
UPSTREAM_REVISIONS = frozenset(f'{n:03d}' for n in range(1, 8))

#: How a store holding upstream's schema is told (the end of a sentence
#: that starts with the store's name).
UPSTREAM_PROBLEM = (
    'holds upstream Zaqar\'s management store (schema revision {}), whose '
    'tables this release does not use: give this server a database of its '
    'own and carry the data over with "zaqar-manage import-upstream '
    '--from-config-file <upstream\'s zaqar.conf>" (see the cut-over '
    'procedure in the upgrade guide)')


class UpstreamSchema(errors.StorageError):
    """The database holds upstream Zaqar's schema, not this release's."""

    def __init__(self, revision: str) -> None:
        super().__init__(f'The database {UPSTREAM_PROBLEM.format(revision)}')
        self.revision = revision


def _config(connection: sa.engine.Connection | None = None,
            output: io.StringIO | None = None) -> alembic_config.Config:
    config = alembic_config.Config(stdout=output or io.StringIO())
    config.set_main_option('script_location', SCRIPT_LOCATION)
    config.attributes['connection'] = connection
    return config


def upgrade(engine: sa.engine.Engine, revision: str = 'head') -> None:
    """Bring the schema at ``engine`` up to ``revision``.

    Safe in several processes at once: on SQLite, whose workers each
    upgrade at start, the first takes the write lock up front and the
    others wait, then find the schema current.

    Raises:
        UpstreamSchema: the database holds upstream Zaqar's schema
            (alembic would say it cannot locate the revision).
    """
    with _RUNNING, sql_engine.write(engine) as conn:
        found = current_on(conn)
        if found in UPSTREAM_REVISIONS:
            raise UpstreamSchema(found)
        command.upgrade(_config(conn), revision)


def stamp(engine: sa.engine.Engine, revision: str = 'head') -> None:
    """Record ``revision`` as current without running migrations."""
    with _RUNNING, engine.begin() as conn:
        command.stamp(_config(conn), revision)


def current(engine: sa.engine.Engine) -> str | None:
    """The revision the database is at, or None before the first one."""
    with engine.connect() as conn:
        return alembic_migration.MigrationContext.configure(
            conn).get_current_revision()


def head() -> str:
    """The newest revision this release knows."""
    scripts = alembic_script.ScriptDirectory.from_config(_config())
    return scripts.get_current_head()


def known(revision: str) -> bool:
    """Whether ``revision`` is one of this release's (not a newer one's)."""
    scripts = alembic_script.ScriptDirectory.from_config(_config())
    return any(script.revision == revision
               for script in scripts.walk_revisions())


def current_on(conn: sa.engine.Connection) -> str | None:
    """:func:`current`, on an open connection."""
    return alembic_migration.MigrationContext.configure(
        conn).get_current_revision()
