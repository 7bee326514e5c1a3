"""The identity of a test run, which everything the run starts carries.

``ZAQAR_TEST_RUN`` holds the run's id: processes inherit it in their
environment (``/proc/<pid>/environ`` tells them apart from anyone
else's), database names embed it (:func:`database_name`) and the run's
temporary files live in ``ZAQAR_TEST_RUN_DIR``. Outside a test run
(``tools/stack.py`` started by hand, say) both are unset and nothing is
tracked.
"""

from __future__ import annotations

import os
import secrets
import uuid
from collections.abc import Iterator
from pathlib import Path

RUN_VAR = 'ZAQAR_TEST_RUN'
DIR_VAR = 'ZAQAR_TEST_RUN_DIR'
#: ``TMPDIR`` as it was before the run pointed it at its directory.
TMPDIR_WAS_VAR = 'ZAQAR_TEST_TMPDIR_WAS'
#: Every throwaway database's name starts with this, then the run's id.
DATABASE_PREFIX = 'zaqar_test_'


def new_id() -> str:
    return secrets.token_hex(4)


def current() -> str | None:
    """The id of the test run this process belongs to, if any."""
    return os.environ.get(RUN_VAR) or None


def directory() -> Path | None:
    value = os.environ.get(DIR_VAR)
    return Path(value) if value else None


def database_name() -> str:
    """A unique database name that says which run made it."""
    return f'{DATABASE_PREFIX}{current() or "norun"}_{uuid.uuid4().hex[:12]}'


def untracked_env(env: dict[str, str] | None = None) -> dict[str, str]:
    """``env`` (default: this process's) without the run's marks: for a
    process that must outlive the run (a stack someone else started)."""
    cleaned = dict(os.environ if env is None else env)
    if DIR_VAR in cleaned:
        # Its TMPDIR is the run's, which goes away with it.
        was = cleaned.pop(TMPDIR_WAS_VAR, '')
        if was:
            cleaned['TMPDIR'] = was
        else:
            cleaned.pop('TMPDIR', None)
    for name in (RUN_VAR, DIR_VAR):
        cleaned.pop(name, None)
    return cleaned


def marked_pids(run_id: str) -> Iterator[int]:
    """The live processes that carry ``run_id`` in their environment."""
    needle = f'{RUN_VAR}={run_id}'.encode()
    for entry in os.scandir('/proc'):
        if not entry.name.isdigit():
            continue
        try:
            with open(f'/proc/{entry.name}/environ', 'rb') as fh:
                environ = fh.read().split(b'\0')
            with open(f'/proc/{entry.name}/stat', 'rb') as fh:
                state = fh.read().rsplit(b')', 1)[1].split()[0]
        except OSError:
            continue  # gone meanwhile, or not ours to read
        if needle in environ and state != b'Z':
            yield int(entry.name)
