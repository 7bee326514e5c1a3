"""Throw-away databases on the machine's servers, for any test that needs
one (the SQL driver's storage tests, the HTTP tests' servers). Their
names carry the test run's id (:func:`.run.database_name`), so that
:func:`drop_run_databases` finds those a killed run left.

Environment:

* ``CI=true``: a backend that cannot be reached fails instead of skipping.
* ``ZAQAR_TEST_PG_DSN``: admin DSN of the PostgreSQL server
  (default ``postgresql://postgres@127.0.0.1:5432/test``).
* ``ZAQAR_TEST_MYSQL_URL``: admin URL of the MySQL/MariaDB server
  (default ``mysql://root@127.0.0.1:3306/``).
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from . import run
from .ci import unavailable

PG_ADMIN_DSN = os.environ.get(
    'ZAQAR_TEST_PG_DSN', 'postgresql://postgres@127.0.0.1:5432/test')
MYSQL_ADMIN_URL = os.environ.get(
    'ZAQAR_TEST_MYSQL_URL', 'mysql://root@127.0.0.1:3306/')

BACKENDS = ('sqlite', 'postgresql', 'mysql')


class Database:
    """An empty database; ``uri`` is what the driver is configured with."""

    backend: str
    uri: str

    def drop(self) -> None:
        """Remove the database (and end connections still open to it)."""


class SQLiteDatabase(Database):
    backend = 'sqlite'

    def __init__(self, directory: Path) -> None:
        self.uri = f'sqlite:///{directory / f"{run.database_name()}.sqlite"}'


class PostgresDatabase(Database):
    backend = 'postgresql'

    def __init__(self) -> None:
        self.name = run.database_name()
        admin = urlsplit(PG_ADMIN_DSN)
        auth = admin.username or 'postgres'
        if admin.password:
            auth += f':{admin.password}'
        self.uri = (f'postgresql+psycopg2://{auth}@'
                    f'{admin.hostname or "127.0.0.1"}:{admin.port or 5432}/'
                    f'{self.name}')
        self._admin(f'CREATE DATABASE "{self.name}"')

    def drop(self) -> None:
        self._admin(
            'SELECT pg_terminate_backend(pid) FROM pg_stat_activity '
            'WHERE datname = %s AND pid <> pg_backend_pid()', (self.name,))
        self._admin(f'DROP DATABASE IF EXISTS "{self.name}"')

    @staticmethod
    def _admin(statement: str, params: tuple = ()) -> None:
        try:
            import psycopg2
        except ImportError as exc:
            unavailable(f'PostgreSQL tests need psycopg2: {exc}')
        try:
            conn = psycopg2.connect(PG_ADMIN_DSN, connect_timeout=5)
        except psycopg2.Error as exc:
            unavailable(f'PostgreSQL not reachable at {PG_ADMIN_DSN}: '
                        f'{exc}'.strip())
        conn.autocommit = True
        try:
            with conn.cursor() as cur:
                cur.execute(statement, params)
        finally:
            conn.close()


class MySQLDatabase(Database):
    backend = 'mysql'

    def __init__(self) -> None:
        self.name = run.database_name()
        admin = urlsplit(MYSQL_ADMIN_URL)
        self._connect_args = {
            'host': admin.hostname or '127.0.0.1',
            'port': admin.port or 3306,
            'user': admin.username or 'root',
            'password': admin.password or ''}
        auth = self._connect_args['user']
        if admin.password:
            auth += f':{admin.password}'
        self.uri = (f'mysql+pymysql://{auth}@{self._connect_args["host"]}:'
                    f'{self._connect_args["port"]}/{self.name}'
                    f'?charset=utf8mb4')
        self._admin(f'CREATE DATABASE `{self.name}` CHARACTER SET utf8mb4')

    def drop(self) -> None:
        self._admin(f'DROP DATABASE IF EXISTS `{self.name}`')

    def _admin(self, statement: str) -> None:
        try:
            import pymysql
        except ImportError as exc:
            unavailable(f'MySQL tests need PyMySQL: {exc}')
        try:
            conn = pymysql.connect(connect_timeout=5, autocommit=True,
                                   **self._connect_args)
        except pymysql.Error as exc:
            unavailable(f'MySQL not reachable at {MYSQL_ADMIN_URL}: {exc}')
        try:
            with conn.cursor() as cur:
                cur.execute(statement)
        finally:
            conn.close()


class DatabaseFactory:
    """Creates databases on demand and drops them all at the end.

    A backend that failed to answer once is not asked again: each later
    request skips (or fails) at once with the first reason.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.created: list[Database] = []
        self.failures: dict[str, str] = {}

    def create(self, backend: str) -> Database:
        if backend in self.failures:
            unavailable(self.failures[backend])
        try:
            if backend == 'sqlite':
                database: Database = SQLiteDatabase(self.directory)
            elif backend == 'postgresql':
                database = PostgresDatabase()
            else:
                database = MySQLDatabase()
        except (pytest.skip.Exception, pytest.fail.Exception) as exc:
            self.failures[backend] = exc.msg
            raise
        self.created.append(database)
        return database

    def drop_all(self) -> None:
        for database in self.created:
            database.drop()


# -- what a run left -------------------------------------------------------

def _pg_connect() -> Any:
    import psycopg2
    conn = psycopg2.connect(PG_ADMIN_DSN, connect_timeout=5)
    conn.autocommit = True
    return conn


def _mysql_connect() -> Any:
    import pymysql
    admin = urlsplit(MYSQL_ADMIN_URL)
    return pymysql.connect(
        host=admin.hostname or '127.0.0.1', port=admin.port or 3306,
        user=admin.username or 'root', password=admin.password or '',
        connect_timeout=5, autocommit=True)


def run_databases(run_id: str) -> list[tuple[str, str]]:
    """``(server, name)`` of each database test run ``run_id`` made that
    still exists; a server that cannot be reached is passed over."""
    prefix = f'{run.DATABASE_PREFIX}{run_id}_'
    found = []
    for server, connect, listing in (
            ('postgresql', _pg_connect, 'SELECT datname FROM pg_database'),
            ('mysql', _mysql_connect, 'SHOW DATABASES')):
        with contextlib.suppress(Exception), \
                contextlib.closing(connect()) as conn, conn.cursor() as cur:
            cur.execute(listing)
            found += [(server, row[0]) for row in cur.fetchall()
                      if row[0].startswith(prefix)]
    return found


def drop_run_databases(run_id: str) -> list[str]:
    """Drop what :func:`run_databases` finds; returns their names."""
    dropped = []
    for server, name in run_databases(run_id):
        with contextlib.suppress(Exception):
            if server == 'postgresql':
                with contextlib.closing(_pg_connect()) as conn, \
                        conn.cursor() as cur:
                    cur.execute(
                        'SELECT pg_terminate_backend(pid) FROM '
                        'pg_stat_activity WHERE datname = %s', (name,))
                    cur.execute(f'DROP DATABASE IF EXISTS "{name}"')
            else:
                with contextlib.closing(_mysql_connect()) as conn, \
                        conn.cursor() as cur:
                    cur.execute(f'DROP DATABASE IF EXISTS `{name}`')
            dropped.append(f'{server}:{name}')
    return dropped
