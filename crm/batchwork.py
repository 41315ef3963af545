"""Helpers for long batch jobs (an import): work done ahead in a forked child process, and a
garbage collector that leaves the objects the job found alone.

Work that needs no database, done ahead in a forked child process while this one writes: an
import checks its rows (pure Python: names, emails, phone numbers, dates) and writes them
(the database). One process doing both keeps one CPU busy and leaves the database waiting
in between; ``produced_in_child`` runs the checking generator in a child process that this
one forks, so both go on at once. Items come back pickled through a pipe, in order; the pipe's
buffer keeps the child about one item ahead, so memory stays bounded however long the file.

``os.fork`` is used directly, not ``multiprocessing``: a Celery pool process is a daemonic one,
which ``multiprocessing`` refuses to give children. The child touches no database connection
it inherited and leaves with ``os._exit``, so nothing of this process's connections, files or
exit handlers runs in it. Where forking is not safe (no ``fork`` on the platform, or other
threads running, whose locks the child would inherit held), the items are produced here, one
at a time as they are asked for: the same items, only without the overlap.
"""

from __future__ import annotations

import contextlib
import gc
import os
import pickle
import signal
import threading
from collections.abc import Iterable, Iterator
from typing import IO, Any, TypeVar

from django.utils.translation import gettext as _

T = TypeVar("T")

_ITEM, _DONE, _FAILED = "item", "done", "failed"
_BUFFER = 1 << 20


class ChildStopped(RuntimeError):
    """The child process ended before it had produced every item (killed, out of memory)."""


def can_fork() -> bool:
    """Whether a child can be forked safely here: the platform has ``fork`` and this process
    runs only one thread."""
    return hasattr(os, "fork") and threading.active_count() == 1


@contextlib.contextmanager
def collector_spares_older() -> Iterator[None]:
    """Within the block, the garbage collector's full passes skip every object that existed
    before it (the application's modules, its translations, the file read).

    A batch job makes and drops objects by the million; each full pass of the collector would
    otherwise walk the whole heap again (a tenth of an import's time). The older objects are
    handed back to the collector when the block ends, unless something else had frozen
    objects before (a server that freezes its preloaded heap), whose choice is kept.
    """
    if gc.get_freeze_count():
        yield
        return
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


@contextlib.contextmanager
def produced_in_child(
    items: Iterable[T], *, fork: bool | None = None
) -> Iterator[Iterator[T]]:
    """Iterate ``items`` in a forked child: the context gives an iterator of what it yields.

    An exception the child raises is raised here, from the iterator, at the item it stopped
    at (as ``ChildStopped`` when it can't be pickled, or when the child died without a word).
    Leaving the context early stops the child. ``fork`` forces the choice (tests); by default
    the items are produced in a child when ``can_fork()``.
    """
    if not (can_fork() if fork is None else fork):
        yield iter(items)
        return
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: leaves through os._exit, never back into the caller
        try:
            os.close(read_fd)
            _produce(items, write_fd)
        finally:
            os._exit(1)
    os.close(write_fd)
    try:
        with open(read_fd, "rb", buffering=_BUFFER) as reader:
            yield _received(reader)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)  # done already, or no longer wanted
        os.waitpid(pid, 0)


def _produce(items: Iterable[Any], write_fd: int) -> None:
    code = 0
    try:
        with open(write_fd, "wb", buffering=_BUFFER) as out:
            try:
                for item in items:
                    _send(out, (_ITEM, item))
            except BaseException as exc:
                _send(out, (_FAILED, _portable(exc)))
            else:
                _send(out, (_DONE, None))
    except BaseException:
        code = 1
    finally:
        os._exit(code)


def _send(out: IO[bytes], message: tuple[str, Any]) -> None:
    pickle.dump(message, out, protocol=pickle.HIGHEST_PROTOCOL)
    out.flush()


def _portable(exc: BaseException) -> BaseException:
    """The exception itself when it survives pickling, else one that says what it was."""
    try:
        pickle.loads(pickle.dumps(exc))
    except Exception:
        return ChildStopped(f"{type(exc).__name__}: {exc}")
    return exc


def _received(reader: IO[bytes]) -> Iterator[Any]:
    while True:
        try:
            kind, payload = pickle.load(reader)
        except EOFError:
            raise ChildStopped(
                _("The process checking the rows stopped unexpectedly.")
            ) from None
        if kind == _DONE:
            return
        if kind == _FAILED:
            raise payload
        yield payload
