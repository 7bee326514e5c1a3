"""What a test run leaves behind, found by the run's id, and removed.

As a command, the CI check that a test run leaves nothing behind::

    python -m zaqar_testing.leftovers [--interrupt TERM|INT|KILL
        --after SECONDS [--after-file PATH]] -- COMMAND...

runs ``COMMAND`` (the README's test command) as a test run of its own,
interrupts it after ``SECONDS`` if asked (``INT`` goes to its whole
process group, as Ctrl-C in a terminal would), waits for the run's
janitor, then fails if any process of the run is alive, a loopback port
opened meanwhile still listens (only the run's own with
``--busy-machine``), a database of the run exists or the
temporary directory got new entries. It also fails when the run's own
end found leftovers (the fixtures should have stopped all they started,
interrupted by SIGTERM or Ctrl-C too; only after SIGKILL is it all the
janitor's), and, without ``--interrupt``, when the command fails.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Collection
from pathlib import Path

from . import run

#: How long a process gets between SIGTERM and SIGKILL.
GRACE = 5.0
#: How long the check waits for the run's janitor to finish.
SETTLE = 90.0


@dataclasses.dataclass
class Leftovers:
    processes: list[str] = dataclasses.field(default_factory=list)
    databases: list[str] = dataclasses.field(default_factory=list)
    paths: list[str] = dataclasses.field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.processes or self.databases or self.paths)

    def lines(self) -> list[str]:
        return ([f'process {p}' for p in self.processes] +
                [f'database {d}' for d in self.databases] +
                [f'path {p}' for p in self.paths])


def describe(pid: int) -> str:
    try:
        with open(f'/proc/{pid}/cmdline', 'rb') as fh:
            argv = fh.read().rstrip(b'\0').split(b'\0')
    except OSError:
        return str(pid)
    return f'{pid} ({b" ".join(argv).decode(errors="replace")[:160]})'


def children(parent: int) -> list[tuple[int, bytes]]:
    """The processes whose parent is ``parent``, with their command lines
    (NUL-separated, as /proc gives them)."""
    found = []
    for entry in os.scandir('/proc'):
        if not entry.name.isdigit():
            continue
        try:
            with open(f'/proc/{entry.name}/stat', 'rb') as fh:
                ppid = int(fh.read().rsplit(b')', 1)[1].split()[1])
            if ppid != parent:
                continue
            with open(f'/proc/{entry.name}/cmdline', 'rb') as fh:
                found.append((int(entry.name), fh.read()))
        except (OSError, ValueError, IndexError):
            continue
    return found


def interpreter_helpers(parent: int) -> list[int]:
    """multiprocessing's resource tracker (and forkserver) children of
    ``parent``: they end with its interpreter."""
    return [pid for pid, cmdline in children(parent)
            if b'multiprocessing.resource_tracker' in cmdline or
            b'multiprocessing.forkserver' in cmdline]


def xdist_workers(parent: int) -> list[int]:
    """The pytest-xdist workers of the pytest process ``parent`` (execnet
    starts each with this bootstrap)."""
    return [pid for pid, cmdline in children(parent)
            if b'import sys;exec(eval(sys.stdin.readline()))' in cmdline]


def kill_processes(run_id: str, spare: Collection[int] = ()) -> list[str]:
    """Stop every process of the run but ``spare``: SIGTERM, then
    SIGKILL after :data:`GRACE`, until none is left. Returns what it
    found."""
    spare = {*spare, os.getpid()}
    found: dict[int, str] = {}
    deadline = time.monotonic() + GRACE
    while True:
        pids = [pid for pid in run.marked_pids(run_id) if pid not in spare]
        if not pids:
            return list(found.values())
        late = time.monotonic() > deadline
        for pid in pids:
            if pid not in found:
                found[pid] = describe(pid)
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL if late else signal.SIGTERM)
        time.sleep(0.1)


def remove(run_id: str, spare: Collection[int] = ()) -> Leftovers:
    """Remove what is left of run ``run_id``; returns what that was."""
    from .databases import drop_run_databases
    left = Leftovers(processes=kill_processes(run_id, spare))
    left.databases = drop_run_databases(run_id)
    return left


# -- the CI check ----------------------------------------------------------

def _listening() -> dict[str, str]:
    """Local TCP ports something listens on, by socket inode (from
    /proc/net)."""
    found = {}
    for name in ('tcp', 'tcp6'):
        with contextlib.suppress(OSError), open(f'/proc/net/{name}') as fh:
            for line in fh.readlines()[1:]:
                fields = line.split()
                if fields[3] == '0A':  # TCP_LISTEN
                    port = int(fields[1].rsplit(':', 1)[1], 16)
                    found[fields[9]] = str(port)
    return found


def _owners(inodes: Collection[str]) -> dict[str, int]:
    """The pid holding each socket inode, where /proc tells."""
    wanted = {f'socket:[{inode}]': inode for inode in inodes}
    owners = {}
    for entry in os.scandir('/proc'):
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            for fd in os.scandir(f'/proc/{entry.name}/fd'):
                with contextlib.suppress(OSError):
                    target = os.readlink(fd.path)
                    if target in wanted:
                        owners[wanted[target]] = int(entry.name)
    return owners


def _run_of(pid: int) -> str | None:
    """The test run ``pid`` belongs to, '' if none, None if unknown."""
    try:
        with open(f'/proc/{pid}/environ', 'rb') as fh:
            environ = fh.read().split(b'\0')
    except OSError:
        return None
    prefix = f'{run.RUN_VAR}='.encode()
    return next((v[len(prefix):].decode() for v in environ
                 if v.startswith(prefix)), '')


def _new_ports(before: dict[str, str], run_id: str, anyones: bool
               ) -> list[str]:
    """Ports that started listening during the run and still do: never
    those of another test run, and only this run's unless ``anyones``
    (on a quiet machine, anything new is this run's)."""
    new = {inode: port for inode, port in _listening().items()
           if inode not in before}
    owners = _owners(new)
    found = []
    for inode, port in new.items():
        owner = owners.get(inode)
        belongs = None if owner is None else _run_of(owner)
        if belongs == run_id or (anyones and belongs in ('', None)):
            found.append(port if owner is None else
                         f'{port} ({describe(owner)})')
    return sorted(found)


def _wait_janitor(run_id: str) -> list[str]:
    """Until no process of the run is left (the janitor ends last)."""
    deadline = time.monotonic() + SETTLE
    while time.monotonic() < deadline:
        pids = list(run.marked_pids(run_id))
        if not pids:
            return []
        time.sleep(0.2)
    return [describe(pid) for pid in run.marked_pids(run_id)]


def _wait_for(proc: subprocess.Popen, after: float,
              after_file: Path | None) -> bool:
    """Until it is time to interrupt; False if the command ended first."""
    if after_file is not None:
        deadline = time.monotonic() + SETTLE
        while not after_file.exists() and time.monotonic() < deadline:
            if proc.poll() is not None:
                return False
            time.sleep(0.05)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(after)
    return proc.poll() is None


def check(command: list[str], interrupt: str | None = None,
          after: float = 0.0, after_file: Path | None = None,
          anyones_ports: bool = True) -> int:
    """Run ``command`` as a test run, interrupted with ``interrupt``
    ``after`` seconds (after ``after_file`` exists, if given); 0 if it
    left nothing behind (and, uninterrupted, passed)."""
    from .databases import run_databases
    run_id = run.new_id()
    tmp = Path(tempfile.gettempdir())
    tmp_before = set(os.listdir(tmp))
    ports_before = _listening()
    env = {**run.untracked_env(), run.RUN_VAR: run_id}
    report = tmp / f'zaqar-leftovers-{run_id}.txt'
    env['ZAQAR_TEST_LEFTOVERS_REPORT'] = str(report)
    started = time.monotonic()
    proc = subprocess.Popen(command, env=env, start_new_session=True)
    print(f'leftovers: run {run_id}: {" ".join(command)}', flush=True)
    if interrupt:
        if not _wait_for(proc, after, after_file):
            print(f'leftovers: the command ended (exit {proc.returncode}) '
                  f'before the interrupt: interrupt it earlier', flush=True)
            return 1
        signum = getattr(signal, f'SIG{interrupt}')
        print(f'leftovers: SIG{interrupt} after {after:g} s', flush=True)
        if signum == signal.SIGINT:
            os.killpg(proc.pid, signum)  # as Ctrl-C in a terminal
        else:
            proc.send_signal(signum)
    code = proc.wait()
    elapsed = time.monotonic() - started
    problems = [f'process {p}' for p in _wait_janitor(run_id)]
    problems += [f'database {server}:{name}'
                 for server, name in run_databases(run_id)]
    problems += [f'listening port {p}'
                 for p in _new_ports(ports_before, run_id, anyones_ports)]
    tmp_new = set(os.listdir(tmp)) - tmp_before - {report.name}
    if not anyones_ports:  # others make temporary files meanwhile
        tmp_new = {name for name in tmp_new
                   if name.startswith(f'zaqar-test-{run_id}-')}
    problems += [f'temporary {tmp / name}' for name in sorted(tmp_new)]
    with contextlib.suppress(FileNotFoundError):
        found = report.read_text().strip()
        report.unlink()
        # A run ended by SIGTERM or Ctrl-C tears its fixtures down too;
        # only SIGKILL leaves it all to the janitor.
        if found and interrupt != 'KILL':
            problems += [f'found at the end of the run: {line}'
                         for line in found.splitlines()]
    print(f'leftovers: exit {code} after {elapsed:.0f} s; '
          f'{len(problems)} left behind', flush=True)
    for problem in problems:
        print(f'leftovers:   {problem}', flush=True)
    if problems:
        return 1
    if not interrupt:
        return code
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog='python -m zaqar_testing.leftovers',
        description='Run a test command and check that it leaves nothing '
                    'behind.')
    parser.add_argument('--interrupt', choices=('TERM', 'INT', 'KILL'))
    parser.add_argument('--after', type=float, default=30.0,
                        help='seconds before the interrupt')
    parser.add_argument('--after-file', type=Path,
                        help='count --after from when this file exists')
    parser.add_argument('--busy-machine', action='store_true',
                        help='other things start servers meanwhile: check '
                             'only the ports of processes of the run, and '
                             'of the temporary directory only the run\'s')
    parser.add_argument('command', nargs='+')
    args = parser.parse_args(argv)
    if not shutil.which(args.command[0]):
        parser.error(f'no such command: {args.command[0]}')
    return check(args.command, args.interrupt, args.after, args.after_file,
                 anyones_ports=not args.busy_machine)


if __name__ == '__main__':
    sys.exit(main())
