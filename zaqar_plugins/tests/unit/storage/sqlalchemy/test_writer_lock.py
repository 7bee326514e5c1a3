"""Writers of a SQLite file queue for their turn: the threads of a process
on a lock, the processes on an flock of a file beside the database."""

from __future__ import annotations

import contextlib
import fcntl
import itertools
import multiprocessing
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from zaqar_core.storage import errors
from zaqar_plugins.storage.sqlalchemy import engine as txn
from zaqar_plugins.storage.sqlalchemy import writer_lock


@contextlib.contextmanager
def foreign_holder(database: Path) -> Iterator[int]:
    """The lock, held through an open file of its own: to the lock under
    test, another process."""
    fd = os.open(writer_lock.lock_path(str(database)),
                 os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield fd
    finally:
        os.close(fd)


def is_free(database: Path) -> bool:
    fd = os.open(writer_lock.lock_path(str(database)), os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False
    finally:
        os.close(fd)


def overlaps(spans: list[tuple[float, float]]) -> list:
    spans = sorted(spans)
    return [(a, b) for a, b in itertools.pairwise(spans) if b[0] < a[1]]


def test_threads_of_a_process_write_one_at_a_time(tmp_path: Path) -> None:
    lock = writer_lock.WriterLock(str(tmp_path / 'db'), timeout_s=10)
    spans: list[tuple[float, float]] = []

    def write() -> None:
        for _ in range(20):
            with lock.held():
                start = time.monotonic()
                time.sleep(0.001)
                spans.append((start, time.monotonic()))

    threads = [threading.Thread(target=write) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(spans) == 80
    assert overlaps(spans) == []


def _write_in_child(database: str, log: str) -> None:
    lock = writer_lock.WriterLock(database, timeout_s=10)
    for _ in range(30):
        with lock.held():
            start = time.monotonic()
            time.sleep(0.001)
            with open(log, 'a') as f:
                f.write(f'{start} {time.monotonic()}\n')


def test_processes_write_one_at_a_time(tmp_path: Path) -> None:
    database, log = str(tmp_path / 'db'), str(tmp_path / 'spans')
    # Forked after the parent took and let go of its turn: each child
    # must open the file for itself, or they would share one lock.
    parent = writer_lock.WriterLock(database, timeout_s=10)
    with parent.held():
        pass
    fork = multiprocessing.get_context('fork')
    children = [fork.Process(target=_write_in_child, args=(database, log))
                for _ in range(3)]
    for child in children:
        child.start()
    for child in children:
        child.join(60)
        assert child.exitcode == 0
    spans = [tuple(map(float, line.split()))
             for line in Path(log).read_text().splitlines()]
    assert len(spans) == 90
    assert overlaps(spans) == []


def test_a_waiting_writer_gets_its_turn_as_soon_as_it_is_freed(
        tmp_path: Path) -> None:
    lock = writer_lock.WriterLock(str(tmp_path / 'db'), timeout_s=10)
    entered: list[float] = []

    def write() -> None:
        with lock.held():
            entered.append(time.monotonic())

    with foreign_holder(tmp_path / 'db'):
        writer = threading.Thread(target=write)
        writer.start()
        time.sleep(0.3)
        assert entered == []
        freed = time.monotonic()
    writer.join(10)
    # Woken by the kernel, not by polling on a timer.
    assert entered and entered[0] - freed < 0.05


def test_a_writer_gives_up_at_the_timeout_and_keeps_nothing(
        tmp_path: Path) -> None:
    database = tmp_path / 'db'
    lock = writer_lock.WriterLock(str(database), timeout_s=0.2)
    with foreign_holder(database):
        started = time.monotonic()
        with pytest.raises(errors.Unavailable, match='database is locked'):
            with lock.held():
                pytest.fail('entered while another process writes')
        assert 0.2 <= time.monotonic() - started < 2
    # The lock came to this process's waiter after the writer left: it
    # gives it back rather than keep it with no writer to use it.
    deadline = time.monotonic() + 5
    while not is_free(database):
        assert time.monotonic() < deadline, 'the lock was kept'
        time.sleep(0.01)
    with lock.held():
        assert not is_free(database)
    assert is_free(database)


def test_a_writer_after_one_that_gave_up_waits_on_the_same_waiter(
        tmp_path: Path) -> None:
    database = tmp_path / 'db'
    lock = writer_lock.WriterLock(str(database), timeout_s=0.2)
    with foreign_holder(database):
        with pytest.raises(errors.Unavailable):
            with lock.held():
                pass
        # The waiter is still blocked in flock for the first writer.
        lock.timeout_s = 10
        entered = threading.Event()

        def write() -> None:
            with lock.held():
                assert not is_free(database)
                entered.set()

        writer = threading.Thread(target=write)
        writer.start()
        time.sleep(0.2)
        assert not entered.is_set()
    writer.join(10)
    assert entered.is_set()
    assert is_free(database)


def test_a_write_nested_in_a_write_keeps_the_turn(tmp_path: Path) -> None:
    database = tmp_path / 'db'
    lock = writer_lock.WriterLock(str(database), timeout_s=1)
    with lock.held():
        with lock.held():
            pass
        assert not is_free(database)
    assert is_free(database)


def test_without_a_lock_file_writers_still_take_turns(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    lock = writer_lock.WriterLock(str(tmp_path / 'missing' / 'db'),
                                  timeout_s=1)
    with lock.held():
        pass
    assert 'busy handler' in caplog.text
    in_memory = writer_lock.WriterLock(':memory:', timeout_s=1)
    with in_memory.held():
        pass


def test_a_sql_write_is_a_503_while_another_process_writes(
        tmp_path: Path) -> None:
    database = tmp_path / 'db.sqlite'
    engine = txn.make_engine(f'sqlite:///{database}', busy_timeout_ms=200)
    try:
        with txn.write(engine) as conn:
            conn.exec_driver_sql('CREATE TABLE t (n INTEGER)')
        with foreign_holder(database):
            with pytest.raises(errors.Unavailable):
                with txn.write(engine) as conn:
                    conn.exec_driver_sql('INSERT INTO t VALUES (1)')
        with txn.write(engine) as conn:
            conn.exec_driver_sql('INSERT INTO t VALUES (2)')
        with txn.read(engine) as conn:
            assert conn.exec_driver_sql(
                'SELECT n FROM t').scalars().all() == [2]
    finally:
        engine.dispose()
