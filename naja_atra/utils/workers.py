"""A bounded pool of daemon worker threads.

``concurrent.futures.ThreadPoolExecutor`` joins its threads when the interpreter exits, so
one handler that hangs keeps a stopped server's process alive for as long as it hangs.
:class:`WorkerPool` runs jobs on daemon threads instead: stopping a server is bounded by
its ``shutdown_timeout``, whatever its handlers do. Threads start as jobs need them, up to
``max_workers``; jobs beyond that wait in the queue, whose length the callers bound (one
job per connection, or per request in flight).

:meth:`WorkerPool.run_on_loop` is the cheap bridge from an event loop: the results of jobs
go back to their loop in batches, one wake-up of the loop per batch rather than one per job
(``loop.run_in_executor`` costs a wake-up and two futures per call, several times the cost
of a small sync controller).
"""
from __future__ import annotations

import asyncio
import logging
import queue
import threading
import weakref
from concurrent.futures import Executor, Future
from typing import Any, Callable, Optional, TypeVar

__all__ = ["WorkerPool"]

T = TypeVar("T")
logger = logging.getLogger("naja_atra")


class WorkerPool(Executor):
    """At most ``max_workers`` daemon threads running the jobs given to :meth:`run_soon`
    (no future: the cheap path) or :meth:`submit` (the ``Executor`` API, for
    ``loop.run_in_executor``)."""

    def __init__(self, max_workers: int, name: str = "naja_atra-worker") -> None:
        if max_workers < 1:
            raise ValueError("max_workers must be at least 1")
        self.max_workers = max_workers
        self._name = name
        self._jobs: queue.SimpleQueue[Optional[Callable[[], None]]] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._idle = 0  # threads waiting for a job that no submitter has claimed yet
        self._backlog = 0  # queued jobs that no idle or new thread was claimed for
        self._closed = False
        self._inboxes: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Inbox] = weakref.WeakKeyDictionary()

    @property
    def thread_count(self) -> int:
        """Threads started so far (never more than ``max_workers``)."""
        return len(self._threads)

    @property
    def backlogged(self) -> bool:
        """True while jobs wait for a thread (every thread is busy)."""
        return self._backlog > 0

    def run_soon(self, job: Callable[[], None]) -> None:
        """Run ``job()`` on a pool thread: an idle one, a new one while under the bound, else
        the first to finish what it runs. What ``job`` raises is logged (callers are meant to
        catch their own errors)."""
        with self._lock:
            if self._closed:
                raise RuntimeError("the worker pool is shut down")
            self._jobs.put(job)
            if self._idle:
                self._idle -= 1
            elif len(self._threads) < self.max_workers:
                thread = threading.Thread(target=self._work, name=f"{self._name}-{len(self._threads)}", daemon=True)
                self._threads.append(thread)
                thread.start()
            else:
                self._backlog += 1

    def run_on_loop(self, loop: asyncio.AbstractEventLoop, fn: Callable[..., T], *args: Any) -> asyncio.Future[T]:
        """``fn(*args)`` on a pool thread; an ``asyncio`` future of ``loop`` for its result.
        Cancelling the future before a thread takes the job skips it."""
        future: asyncio.Future[T] = loop.create_future()
        inbox = self._inboxes.get(loop)
        if inbox is None:
            inbox = self._inboxes.setdefault(loop, _Inbox(loop))

        def job() -> None:
            if future.cancelled():
                return
            try:
                result = fn(*args)
            except BaseException as exc:  # noqa: B036 - handed to whoever awaits the future
                inbox.put(future, None, exc)
            else:
                inbox.put(future, result, None)

        self.run_soon(job)
        return future

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        """The ``Executor`` API: ``fn(*args, **kwargs)`` on a pool thread, as a future."""
        future: Future[T] = Future()

        def job() -> None:
            if not future.set_running_or_notify_cancel():
                return
            try:
                result = fn(*args, **kwargs)
            except BaseException as exc:  # noqa: B036 - handed to whoever waits on the future
                future.set_exception(exc)
            else:
                future.set_result(result)

        self.run_soon(job)
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Take no more jobs; each thread ends once the queue is empty and its job is done.

        ``wait`` joins them (unbounded, as the caller asks: the servers pass False, and a
        thread stuck in a job is a daemon that does not hold the process).
        ``cancel_futures`` is accepted for the ``Executor`` API; queued jobs still run.
        """
        with self._lock:
            if not self._closed:
                self._closed = True
                for _ in self._threads:
                    self._jobs.put(None)
            threads = list(self._threads)
        if wait:
            for thread in threads:
                if thread is not threading.current_thread():
                    thread.join()

    def _work(self) -> None:
        jobs = self._jobs
        while True:
            job = jobs.get()
            if job is None:
                return
            try:
                job()
            except BaseException:  # noqa: B036 - a job's failure must not kill the worker
                logger.exception("a job of %s failed", self._name)
            finally:
                del job
            with self._lock:
                if self._backlog:
                    self._backlog -= 1
                else:
                    self._idle += 1



class _Inbox:
    """Results bound for one event loop, handed over in batches: a worker wakes the loop
    only when the inbox was empty."""

    __slots__ = ("_loop", "_items", "_lock", "_wake_pending")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._items: list[tuple[asyncio.Future[Any], Any, Optional[BaseException]]] = []
        self._lock = threading.Lock()
        self._wake_pending = False

    def put(self, future: asyncio.Future[Any], result: Any, error: Optional[BaseException]) -> None:
        """From a worker: queue one result; wake the loop unless a wake-up is on its way."""
        with self._lock:
            self._items.append((future, result, error))
            if self._wake_pending:
                return
            self._wake_pending = True
        try:
            self._loop.call_soon_threadsafe(self._deliver)
        except RuntimeError:  # the loop is closed: nobody waits for these any more
            pass

    def _deliver(self) -> None:
        with self._lock:
            items, self._items = self._items, []
            self._wake_pending = False
        for future, result, error in items:
            if future.done():  # cancelled meanwhile (the connection was aborted)
                continue
            if error is None:
                future.set_result(result)
            else:
                future.set_exception(error)
