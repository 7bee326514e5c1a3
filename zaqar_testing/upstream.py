"""Upstream OpenStack Zaqar (``zaqar==23.0.1`` from PyPI), for the tests
that check what this project does with an upstream deployment's stores
(``zaqar-manage import-upstream``).

The project never imports upstream Zaqar nor depends on it: it lives in
a virtualenv of its own, built once per machine by :func:`upstream_venv`
in ``~/.cache/zaqar-core/upstream-zaqar-23.0.1`` (``$XDG_CACHE_HOME`` is
honoured; ``ZAQAR_TEST_UPSTREAM_VENV`` names another directory). The
build (pip, a minute or three) runs under a file lock, so the workers of
a pytest-xdist run build it once, and in a temporary directory renamed
into place when it is complete: a build killed half way never leaves a
virtualenv that looks finished. A renamed virtualenv's scripts carry the
temporary directory in their ``#!`` line, so they are always run as
``VENV/bin/python VENV/bin/SCRIPT``.

:class:`UpstreamZaqar` writes an upstream configuration file (no auth,
upstream's Redis message store, a SQL or Redis management store,
optionally pooling and admin mode and a message encryption key), makes
the SQL schema with upstream's own ``zaqar-sql-db-manage upgrade head``
and runs upstream's ``zaqar-server`` (wsgiref) on a free loopback port.
Its :attr:`~UpstreamZaqar.conf_path` stays on disk after :meth:`stop`:
the import command reads upstream's own configuration file.

Upstream's migration ``006`` fails on SQLite and PostgreSQL (it uses
MySQL's ``ALTER TABLE ... CHANGE COLUMN``): ``upgrade head`` exits
non-zero there and the schema stays at ``005``, which is where real
deployments on those databases sit. That failure, and only that one, is
tolerated; on MySQL the upgrade reaches ``007``. (On PostgreSQL the
failed run rolls back to an empty schema, and ``upgrade 005`` follows,
as an operator would run it.) At ``005`` upstream
cannot create flavors (``Flavors.pool_group`` is still ``NOT NULL``),
and its Redis management store cannot register pools at all:
:attr:`UpstreamZaqar.supports_flavors` and
:attr:`~UpstreamZaqar.supports_pools` tell.

Environment:

* ``CI=true``: a virtualenv that cannot be built fails instead of
  skipping.
* ``ZAQAR_TEST_UPSTREAM_VENV``: where the virtualenv lives (built there
  if missing).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Callable
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .ci import unavailable
from .ports import HOST
from .ports import free_port
from .processes import Process
from .processes import ProcessError
from .processes import tail
from .zaqar_servers import Sections
from .zaqar_servers import merge
from .zaqar_servers import wait_answering
from .zaqar_servers import write_config

VERSION = '23.0.1'
#: What the virtualenv holds: upstream with the drivers of the stores
#: the tests use (Redis, MySQL; psycopg2 for PostgreSQL, which upstream
#: names no extra for).
REQUIREMENTS = (f'zaqar[redis,mysql]=={VERSION}', 'psycopg2-binary')
#: Written last into a finished virtualenv: what it was built with.
MARKER = '.zaqar-core-upstream.json'
#: A bound for a slow mirror, not a claim about the build's time.
BUILD_TIMEOUT = 1200.0
STARTUP_TIMEOUT = 60.0
MIGRATE_TIMEOUT = 120.0
#: The schema revision upstream's migrations reach on SQLite and
#: PostgreSQL (006 fails there), and the head they reach on MySQL.
FAILED_AT = '005'
HEAD = '007'


def venv_dir() -> Path:
    """Where the upstream virtualenv lives (whether built or not)."""
    given = os.environ.get('ZAQAR_TEST_UPSTREAM_VENV')
    if given:
        return Path(given)
    cache = Path(os.environ.get('XDG_CACHE_HOME') or
                 Path.home() / '.cache')
    return cache / 'zaqar-core' / f'upstream-zaqar-{VERSION}'


def _marker() -> dict[str, Any]:
    return {'version': VERSION, 'requirements': list(REQUIREMENTS),
            'python': list(sys.version_info[:2])}


def _complete(venv: Path) -> bool:
    try:
        found = json.loads((venv / MARKER).read_text())
    except (OSError, ValueError):
        return False
    return found == _marker() and (venv / 'bin' / 'python').exists() \
        and (venv / 'bin' / 'zaqar-server').exists()


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, 'a') as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def upstream_venv() -> Path:
    """The upstream virtualenv, built first if it is not there yet.

    Fails the test (under CI) or skips it when it cannot be built.
    """
    venv = venv_dir()
    if _complete(venv):
        return venv
    with _locked(venv.parent / f'{venv.name}.lock'):
        if _complete(venv):  # another worker built it meanwhile
            return venv
        problem = _build(venv)
    if problem:
        unavailable(f'cannot build upstream zaqar {VERSION} in {venv}: '
                    f'{problem}')
    return venv


def _build(venv: Path) -> str:
    """Build ``venv`` (the caller holds the lock); '' or what failed."""
    parent = venv.parent
    # Builds a killed run left; nobody else builds while we hold the lock.
    for stale in parent.glob(f'.{venv.name}.building-*'):
        shutil.rmtree(stale, ignore_errors=True)
    building = Path(tempfile.mkdtemp(prefix=f'.{venv.name}.building-',
                                     dir=parent))
    log_path = parent / f'{venv.name}.build.log'
    log_path.unlink(missing_ok=True)
    try:
        steps = [
            [sys.executable, '-m', 'venv', str(building)],
            [str(building / 'bin' / 'python'), '-m', 'pip', 'install',
             '--quiet', '--disable-pip-version-check', *REQUIREMENTS],
        ]
        for argv in steps:
            process = Process(argv, log_path)
            try:
                code = process.wait(BUILD_TIMEOUT)
            except ProcessError:
                process.stop()
                return f'{argv[2:]} did not finish in {BUILD_TIMEOUT:g} s'
            finally:
                process.stop()
            if code != 0:
                return (f'{" ".join(argv)} exited with {code}:\n'
                        f'{tail(log_path, 4000)}')
        (building / MARKER).write_text(json.dumps(_marker()))
        if venv.exists():  # incomplete or of another version
            shutil.rmtree(venv)
        building.rename(venv)
    finally:
        shutil.rmtree(building, ignore_errors=True)
    return ''


def script(venv: Path, name: str) -> list[str]:
    """The argv that runs one of the virtualenv's scripts (see the
    module's docstring about ``#!`` lines)."""
    return [str(venv / 'bin' / 'python'), str(venv / 'bin' / name)]


@pytest.fixture(scope='session')
def upstream_zaqar_venv() -> Path:
    """The upstream virtualenv (built once per machine)."""
    return upstream_venv()


class UpstreamZaqar:
    """An upstream ``zaqar-server`` and its files in ``workdir``.

    ``management_store`` is ``'sqlalchemy'`` or ``'redis'``, at
    ``management_uri``; the message store is always Redis, at
    ``message_uri`` (None with ``pooling``: the pools hold the messages).
    ``sections`` are more configuration, over the rest.
    """

    def __init__(self, venv: Path, workdir: Path, *,
                 message_uri: str | None,
                 management_store: str = 'sqlalchemy',
                 management_uri: str,
                 pooling: bool = False,
                 encryption_key: str | None = None,
                 sections: Sections | None = None) -> None:
        if management_store not in ('sqlalchemy', 'redis'):
            raise ValueError(f'no such management store: {management_store}')
        self.venv = venv
        self.workdir = workdir
        self.management_store = management_store
        self.management_uri = management_uri
        self.conf_path = workdir / 'upstream-zaqar.conf'
        self.log_path = workdir / 'upstream-server.log'
        self.process: Process | None = None
        self.port = 0
        self.url = ''
        #: The schema revision after the migration (SQL only).
        self.revision: str | None = None
        default: dict[str, Any] = {'auth_strategy': ''}
        if pooling:
            default.update(pooling=True, admin_mode=True)
        self.sections: Sections = {
            'DEFAULT': default,
            'drivers': {'transport': 'wsgi', 'message_store': 'redis',
                        'management_store': management_store},
            f'drivers:management_store:{management_store}': {
                'uri': management_uri},
        }
        if message_uri is not None:
            self.sections['drivers:message_store:redis'] = {
                'uri': message_uri}
        if encryption_key is not None:
            self.sections['transport'] = {
                'message_encryption_key': encryption_key}
        if sections:
            self.sections = merge(self.sections, sections)
        workdir.mkdir(parents=True, exist_ok=True)
        self._configure(free_port())

    def _configure(self, port: int) -> None:
        self.port = port
        self.url = f'http://{HOST}:{port}'
        write_config(self.conf_path, merge(self.sections, {
            'drivers:transport:wsgi': {'bind': HOST, 'port': port}}))

    @property
    def supports_pools(self) -> bool:
        """Whether upstream can register pools on this management store:
        not on Redis (its pools controller fails with a ``TypeError``)."""
        return self.management_store == 'sqlalchemy'

    @property
    def supports_flavors(self) -> bool:
        """Whether upstream can create flavors on this management store:
        only on a SQL schema at the head (MySQL), not at 005."""
        return self.supports_pools and self.revision == HEAD

    @property
    def log(self) -> str:
        return tail(self.log_path)

    def alive(self) -> bool:
        return self.process is not None and self.process.alive()

    def migrate(self) -> str:
        """Upstream's ``zaqar-sql-db-manage upgrade head``; the revision
        the schema is at afterwards.

        Where migration 006 fails (see the module's docstring) the
        schema is left at 005: on SQLite, whose DDL is not
        transactional, the failed run stopped there; on PostgreSQL it
        rolled back to nothing, and ``upgrade 005`` is what an operator
        then runs. Any other failure fails the test.
        """
        code, output = self._manage('upgrade', 'head')
        revision = self.schema_revision()
        if code == 0 and revision == HEAD:
            self.revision = revision
            return revision
        if code == 0 or f'{FAILED_AT} -> 006' not in output or \
                'alter table Flavors change column' not in output:
            self._migration_failed(code, revision, output)
        if revision is None:
            code, output = self._manage('upgrade', FAILED_AT)
            revision = self.schema_revision()
            if code != 0:
                self._migration_failed(code, revision, output)
        if revision != FAILED_AT:
            self._migration_failed(code, revision, output)
        self.revision = revision
        return revision

    def _manage(self, *args: str) -> tuple[int, str]:
        """Run upstream's ``zaqar-sql-db-manage ARGS``: exit status and
        output."""
        log_path = self.workdir / 'upstream-db-manage.log'
        start = log_path.stat().st_size if log_path.exists() else 0
        process = Process([*script(self.venv, 'zaqar-sql-db-manage'),
                           '--config-file', str(self.conf_path), *args],
                          log_path, cwd=self.workdir)
        try:
            code = process.wait(MIGRATE_TIMEOUT)
        finally:
            process.stop()
        with open(log_path, errors='replace') as fh:
            fh.seek(start)
            return code, fh.read()

    def _migration_failed(self, code: int, revision: str | None,
                          output: str) -> None:
        pytest.fail(f'upstream zaqar-sql-db-manage exited with {code}, '
                    f'schema at {revision!r}:\n{output[-6000:]}',
                    pytrace=False)

    def schema_revision(self) -> str | None:
        """``alembic_version`` of the SQL management store (read with
        upstream's own SQLAlchemy and drivers); None without one."""
        code = ('import sys, sqlalchemy as sa\n'
                'engine = sa.create_engine(sys.argv[1])\n'
                'with engine.connect() as conn:\n'
                '    try:\n'
                '        rows = conn.execute(sa.text('
                '"SELECT version_num FROM alembic_version")).all()\n'
                '    except sa.exc.DBAPIError:\n'
                '        rows = []\n'
                'print("revision=" + ",".join(r[0] for r in rows))\n')
        log_path = self.workdir / 'upstream-revision.log'
        log_path.unlink(missing_ok=True)
        process = Process([str(self.venv / 'bin' / 'python'), '-c', code,
                           self.management_uri], log_path)
        try:
            exit_code = process.wait(60)
        finally:
            process.stop()
        found = [line for line in tail(log_path).splitlines()
                 if line.startswith('revision=')]
        if exit_code != 0 or not found:
            pytest.fail(f'cannot read the schema revision of '
                        f'{self.management_uri}:\n{tail(log_path)}',
                        pytrace=False)
        return found[-1].partition('=')[2] or None

    def start(self, attempts: int = 3) -> UpstreamZaqar:
        """Start it (migrating a SQL management store the first time)
        and wait until it answers; fails the test if it does not."""
        if self.management_store == 'sqlalchemy' and self.revision is None:
            self.migrate()
        problem = ''
        for _ in range(attempts):
            self.process = Process(
                [*script(self.venv, 'zaqar-server'), '--config-file',
                 str(self.conf_path)], self.log_path, cwd=self.workdir)
            try:
                wait_answering(self.process, self.url, STARTUP_TIMEOUT)
            except ProcessError as exc:
                problem = str(exc)
                self.process.stop()
                if 'in use' not in tail(self.log_path, 4000).lower():
                    break
                self._configure(free_port())
                continue
            return self
        pytest.fail(f'upstream zaqar-server did not start: {problem}\n'
                    f'config {self.conf_path}', pytrace=False)
        raise AssertionError('unreachable')

    def stop(self) -> None:
        """Stop it and whatever it forked; safe to call more than once."""
        if self.process is not None:
            self.process.stop()


@pytest.fixture
def make_upstream(upstream_zaqar_venv: Path, tmp_path: Path
                  ) -> Iterator[Callable[..., UpstreamZaqar]]:
    """``make_upstream(message_uri=..., management_uri=..., ...)``: an
    :class:`UpstreamZaqar` started in a directory of the test's own
    (keyword arguments as its constructor's); every one is stopped when
    the test ends."""
    started: list[UpstreamZaqar] = []

    def make(**kwargs: Any) -> UpstreamZaqar:
        workdir = tmp_path / f'upstream{len(started)}'
        server = UpstreamZaqar(upstream_zaqar_venv, workdir, **kwargs)
        started.append(server)
        return server.start()

    try:
        yield make
    finally:
        for server in started:
            server.stop()

