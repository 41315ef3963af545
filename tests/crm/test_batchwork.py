"""crm.batchwork: items produced ahead in a forked child, and the collector sparing old objects."""

import gc
import itertools
import os
import signal
import threading

import pytest

from crm.batchwork import (
    ChildStopped,
    can_fork,
    collector_spares_older,
    produced_in_child,
)


def numbered(count=None):
    """(index, pid of the process that made it) for each item."""
    for index in itertools.count() if count is None else range(count):
        yield index, os.getpid()


def test_the_items_come_in_order_from_another_process():
    with produced_in_child(numbered(50), fork=True) as items:
        received = list(items)
    assert [index for index, _pid in received] == list(range(50))
    pids = {pid for _index, pid in received}
    assert len(pids) == 1
    assert pids != {os.getpid()}


def test_without_fork_the_same_items_come_from_this_process():
    with produced_in_child(numbered(5), fork=False) as items:
        assert list(items) == [(index, os.getpid()) for index in range(5)]


def test_large_items_pass_the_pipe_whole():
    big = [("x" * 1000, n) for n in range(3000)]  # ~3 MB, past any pipe buffer
    with produced_in_child(iter([big, big[:10]]), fork=True) as items:
        assert list(items) == [big, big[:10]]


def drain(source):
    """What a forked child produced of ``source`` and the exception that ended it, if any."""
    received = []
    with produced_in_child(source, fork=True) as items:
        try:
            for item in items:
                received.append(item)
        except Exception as exc:
            return received, exc
    return received, None


def failing_after(count, exc):
    yield from range(count)
    raise exc


def test_an_exception_in_the_child_is_raised_here_after_the_items_before_it():
    received, exc = drain(failing_after(3, ValueError("bad row 3")))
    assert received == [0, 1, 2]
    assert isinstance(exc, ValueError)
    assert str(exc) == "bad row 3"


class Unpicklable(Exception):
    def __reduce__(self):
        raise TypeError("not today")


def test_an_exception_that_cannot_be_pickled_comes_as_child_stopped_with_its_text():
    received, exc = drain(failing_after(1, Unpicklable("lost lock")))
    assert received == [0]
    assert isinstance(exc, ChildStopped)
    assert str(exc) == "Unpicklable: lost lock"


def killed_after(count):
    yield from range(count)
    os.kill(os.getpid(), signal.SIGKILL)
    yield "never"


def test_a_child_that_dies_without_a_word_stops_the_iteration_with_child_stopped():
    received, exc = drain(killed_after(2))
    assert received == [0, 1]
    assert isinstance(exc, ChildStopped)
    assert "stopped unexpectedly" in str(exc)


def test_leaving_early_stops_and_reaps_the_child():
    with produced_in_child(numbered(), fork=True) as items:
        _index, child = next(items)
        next(items)
        os.kill(child, 0)  # still running, blocked on the pipe
    with pytest.raises(ProcessLookupError):  # killed and waited for: no zombie left
        os.kill(child, 0)


def fail_after_one(children):
    with produced_in_child(numbered(), fork=True) as items:
        children.append(next(items)[1])
        raise RuntimeError("caller")


def test_a_failure_in_the_caller_stops_the_child_too():
    children = []
    with pytest.raises(RuntimeError, match="caller"):
        fail_after_one(children)
    with pytest.raises(ProcessLookupError):
        os.kill(children[0], 0)


def test_no_fork_while_another_thread_runs():
    release = threading.Event()
    other = threading.Thread(target=release.wait)
    other.start()
    try:
        assert not can_fork()
        with produced_in_child(numbered(2)) as items:  # the default choice
            assert {pid for _index, pid in items} == {os.getpid()}
    finally:
        release.set()
        other.join()


def test_the_collector_spares_older_objects_only_within_the_block():
    assert gc.get_freeze_count() == 0
    with collector_spares_older():
        assert gc.get_freeze_count() > 0
    assert gc.get_freeze_count() == 0


def test_a_freeze_made_before_is_left_as_it_was():
    gc.freeze()
    try:
        with collector_spares_older():
            pass
        # Not unfrozen (that would leave 0); frozen objects freed meanwhile leave the count.
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
