"""A bounded pool of daemon worker threads.

``concurrent.futures.ThreadPoolExecutor`` joins its threads when the interpreter exits, so
one handler that hangs keeps a stopped server's process alive for as long as it hangs.
:class:`WorkerPool` runs jobs on daemon threads instead: stopping a server is bounded by
its ``shutdown_timeout``, whatever its handlers do. Threads start as jobs need them, up to
``max_workers``; jobs beyond that wait in the queue, whose length the callers bound (one
job per connection, or per request in flight).
"""
from __future__ import annotations

import logging
import queue
import threading
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

