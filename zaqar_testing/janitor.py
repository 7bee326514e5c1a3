"""The janitor of a test run: a process of its own that outlives pytest
just long enough to remove what the run left, however it ended.

pytest starts it (:func:`start`) in a session of its own, so that a
Ctrl-C meant for pytest does not reach it, and holds the only writer of
a pipe to it. When the pipe closes (pytest exited, normally or killed)
it stops every process of the run, drops the run's databases and
removes the run's directory, then exits::

    python -m zaqar_testing.janitor RUN_ID RUN_DIR SPARE_PID
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

from . import leftovers

#: Set to keep the run's directory (logs, server files) after the run.
KEEP_VAR = 'ZAQAR_TEST_KEEP_TMP'


class Janitor:
    def __init__(self, proc: subprocess.Popen) -> None:
        self.proc = proc

    @property
    def pid(self) -> int:
        return self.proc.pid

    def finish(self, timeout: float = 120.0) -> None:
        """Let it clean up now, and wait until it has."""
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            print(f'zaqar_testing: the janitor (pid {self.proc.pid}) is '
                  f'still cleaning up', file=sys.stderr)


def start(run_id: str, directory: Path) -> Janitor:
    proc = subprocess.Popen(
        [sys.executable, '-m', 'zaqar_testing.janitor', run_id,
         str(directory), str(os.getpid())],
        stdin=subprocess.PIPE, start_new_session=True)
    return Janitor(proc)


def main(argv: list[str]) -> int:
    run_id, directory, spare = argv[0], Path(argv[1]), int(argv[2])
    # Only the pipe's end ends it: not the terminal's Ctrl-C or hang-up,
    # nor a SIGTERM sent to everything of the run.
    for signum in (signal.SIGINT, signal.SIGHUP, signal.SIGTERM):
        signal.signal(signum, signal.SIG_IGN)
    while sys.stdin.buffer.read(65536):
        pass
    # pytest's pid is spared while it waits for us; once it is gone, it
    # cannot be recycled by a process of the run.
    left = leftovers.remove(
        run_id, spare=[spare, *leftovers.interpreter_helpers(spare)])
    if left:
        print('zaqar_testing: removed what the test run left:\n  ' +
              '\n  '.join(left.lines()), file=sys.stderr)
    if os.environ.get(KEEP_VAR):
        print(f'zaqar_testing: kept {directory}', file=sys.stderr)
    else:
        shutil.rmtree(directory, ignore_errors=True)
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
