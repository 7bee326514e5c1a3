"""Throw-away databases on the machine's servers, for any test that needs
one (the SQL driver's storage tests, the HTTP tests' servers).

Environment:

* ``CI=true``: a backend that cannot be reached fails instead of skipping.
* ``ZAQAR_TEST_PG_DSN``: admin DSN of the PostgreSQL server
  (default ``postgresql://postgres@127.0.0.1:5432/test``).
* ``ZAQAR_TEST_MYSQL_URL``: admin URL of the MySQL/MariaDB server
  (default ``mysql://root@127.0.0.1:3306/``).
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import pytest

IN_CI = os.environ.get('CI', '').lower() in ('1', 'true', 'yes')
PG_ADMIN_DSN = os.environ.get(
    'ZAQAR_TEST_PG_DSN', 'postgresql://postgres@127.0.0.1:5432/test')
MYSQL_ADMIN_URL = os.environ.get(
    'ZAQAR_TEST_MYSQL_URL', 'mysql://root@127.0.0.1:3306/')

BACKENDS = ('sqlite', 'postgresql', 'mysql')


def unavailable(reason: str) -> None:
    """A backend we cannot use: fail under CI, skip elsewhere."""
    if IN_CI:
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


def _unique_name() -> str:
    return f'zaqar_test_{uuid.uuid4().hex[:12]}'


class Database:
    """An empty database; ``uri`` is what the driver is configured with."""

    backend: str
    uri: str

    def drop(self) -> None:
        """Remove the database (and end connections still open to it)."""


class SQLiteDatabase(Database):
    backend = 'sqlite'

    def __init__(self, directory: Path) -> None:
        self.uri = f'sqlite:///{directory / f"{_unique_name()}.sqlite"}'


class PostgresDatabase(Database):
    backend = 'postgresql'

    def __init__(self) -> None:
        self.name = _unique_name()
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
        self.name = _unique_name()
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
