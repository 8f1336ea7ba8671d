"""Helpers shared by the tests: plain functions and classes, standard library only.

- Ports and bounded waits: ``free_port``, ``port_open``, ``wait_for_port``, ``wait_until``.
- Processes, always stopped by their PID with bounded waits: ``python_env``, ``stop_process``,
  ``ServerProcess`` (a server command with its output in a log file) and ``ScriptProcess``
  (a Python script whose stdout lines are read with deadlines).
- HTTP against a server on 127.0.0.1: ``Reply`` and ``Client`` (over ``http.client``), and
  ``exchange`` for raw bytes over a socket.
- ``serving``: an ``Application`` served in a thread on a free port, stopped afterwards.

The pytest fixtures built on these live in ``tests/conftest.py``. This module imports only the
standard library, so the standalone runner ``tests/conformance/run_autobahn.py`` can use it.
"""
from __future__ import annotations

import contextlib
import http.client
import json
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Callable, Iterator, Mapping, Optional
from urllib.parse import urlencode, urlsplit

if TYPE_CHECKING:
    from naja_atra import Application

#: The repository root (the folder that holds ``naja_atra/`` and ``tests/``).
ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
#: The two built-in servers, as the ``driver`` fixture names them.
DRIVERS = ("threading", "asyncio")
WAIT = 5.0  # bound of one request, one read, one poll
START_TIMEOUT = 15.0  # bound for a process to start listening
STOP_TIMEOUT = 10.0  # bound for a process or server thread to end


# -- ports and waits ----------------------------------------------------------------------------


def free_port(host: str = HOST) -> int:
    """A TCP port of ``host`` that nothing listens on right now.

    Another process may take it before it is used: servers that can report the port they
    bound (``port=0``) should do that instead.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def port_open(port: int, host: str = HOST, timeout: float = 0.5) -> bool:
    """True when ``host:port`` accepts a TCP connection (closed again at once)."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def wait_until(predicate: Callable[[], bool], timeout: float = WAIT, interval: float = 0.01) -> bool:
    """Poll ``predicate`` until it holds or ``timeout`` passes; its last value."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


def wait_for_port(port: int, timeout: float = START_TIMEOUT, process: Optional[subprocess.Popen[Any]] = None,
                  output: Optional[Callable[[], str]] = None, what: str = "server", host: str = HOST) -> None:
    """Wait (bounded) until ``host:port`` accepts connections.

    Raises AssertionError when ``process`` (the server, if given) exits first or the time is up;
    the message ends with ``output()`` (its log) when given.
    """
    def fail(problem: str) -> AssertionError:
        return AssertionError(problem + (":\n" + output() if output is not None else ""))

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise fail(f"{what} exited with status {process.returncode} before listening on {host}:{port}")
        if port_open(port, host):
            return
        time.sleep(0.05)
    raise fail(f"{what} did not listen on {host}:{port} within {timeout:.0f} s")


# -- processes ----------------------------------------------------------------------------------


def python_env(extra: Optional[Mapping[str, str]] = None) -> dict[str, str]:
    """This environment with the repository root first on ``PYTHONPATH``, plus ``extra``."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env.update(extra or {})
    return env


def stop_process(process: subprocess.Popen[Any], timeout: float = STOP_TIMEOUT,
                 sig: int = signal.SIGTERM) -> Optional[int]:
    """Stop ``process`` by its PID: ``sig`` (SIGTERM), then SIGKILL when it has not ended within
    ``timeout``; every wait is bounded. Its exit status (None only if even SIGKILL did not end it)."""
    if process.poll() is None:
        process.send_signal(sig)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout)
    return process.returncode


class ServerProcess:
    """A server command in its own process, to listen on ``127.0.0.1:port``.

    Its stdout and stderr go to ``log``; it runs from the repository root with the root on
    ``PYTHONPATH``. ``stop()`` sends SIGTERM (a graceful stop), then SIGKILL.
    """

    def __init__(self, name: str, command: list[str], port: int, log: Path,
                 env: Optional[Mapping[str, str]] = None, cwd: Path = ROOT) -> None:
        self.name = name
        self.port = port
        self.log = log
        self.log_file: IO[bytes] = open(log, "wb")
        try:
            self.process: subprocess.Popen[bytes] = subprocess.Popen(
                command, cwd=cwd, env=python_env(env), stdin=subprocess.DEVNULL, stdout=self.log_file,
                stderr=subprocess.STDOUT)
        except BaseException:
            self.log_file.close()
            raise

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://{HOST}:{self.port}"

    def output(self, limit: int = 4000) -> str:
        """The end of what the process wrote so far."""
        if not self.log_file.closed:
            self.log_file.flush()
        return self.log.read_text(errors="replace")[-limit:]

    def wait_ready(self, timeout: float = START_TIMEOUT) -> None:
        """Wait (bounded) until it listens; AssertionError, with its output, if it exits or times out."""
        wait_for_port(self.port, timeout, self.process, self.output, self.name)

    def stop(self, timeout: float = STOP_TIMEOUT) -> Optional[int]:
        """SIGTERM, then SIGKILL if it does not end within ``timeout``; the exit status. Idempotent."""
        code = stop_process(self.process, timeout)
        self.log_file.close()
        return code


class ScriptProcess:
    """``python SCRIPT ARGS`` in its own process, run from the script's folder.

    Its stdout lines are read by a thread and can be waited for with a deadline; its stderr
    goes to ``stderr.log`` beside the script. With ``stdin=True`` it reads what ``send`` writes.
    ``end()`` stops it by its PID.
    """

    def __init__(self, script: Path, *args: str, stdin: bool = False, port: Optional[int] = None) -> None:
        self.port = port
        self.stderr_path = script.parent / "stderr.log"
        self._stderr = open(self.stderr_path, "wb")
        env = python_env({"PYTHONUNBUFFERED": "1", "PYTHONIOENCODING": "utf-8"})
        try:
            self.proc = subprocess.Popen(
                [sys.executable, str(script), *args], cwd=str(script.parent), env=env,
                stdin=subprocess.PIPE if stdin else subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=self._stderr)
        except BaseException:
            self._stderr.close()
            raise
        self.lines: queue.Queue[Optional[str]] = queue.Queue()
        self.seen: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            self.lines.put(raw.decode("utf-8", "replace").rstrip("\r\n"))
        self.lines.put(None)

    def stderr(self) -> str:
        self._stderr.flush()
        return self.stderr_path.read_text("utf-8", "replace")[-4000:]

    def _next_line(self, accept: Callable[[str], Any], what: str, timeout: float) -> Any:
        """The first truthy ``accept(line)`` of the coming lines (bounded)."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no line {what} within {timeout}s; seen {self.seen}; stderr:\n{self.stderr()}")
            try:
                line = self.lines.get(timeout=remaining)
            except queue.Empty:
                continue
            if line is None:
                self.lines.put(None)
                raise AssertionError(f"process ended before a line {what}; seen {self.seen}; "
                                     f"stderr:\n{self.stderr()}")
            self.seen.append(line)
            accepted = accept(line)
            if accepted:
                return accepted

    def wait_for_line(self, prefix: str, timeout: float = START_TIMEOUT) -> str:
        """The next stdout line that starts with ``prefix`` (bounded)."""
        line: str = self._next_line(lambda line: line if line.startswith(prefix) else None,
                                    f"starting with {prefix!r}", timeout)
        return line

    def wait_for_match(self, pattern: str, timeout: float = WAIT) -> re.Match[str]:
        """The next stdout line that the regular expression ``pattern`` matches whole (bounded)."""
        match: re.Match[str] = self._next_line(lambda line: re.fullmatch(pattern, line),
                                               f"matching {pattern!r}", timeout)
        return match

    def wait_for_port(self, port: Optional[int] = None, timeout: float = START_TIMEOUT) -> None:
        """Wait (bounded) until ``port`` (default: ``self.port``) accepts connections."""
        target = self.port if port is None else port
        assert target is not None, "no port to wait for"
        wait_for_port(target, timeout, self.proc, self.stderr, "process")

    def send(self, text: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(text.encode())
        self.proc.stdin.flush()

    def rest_of_output(self, timeout: float = STOP_TIMEOUT) -> list[str]:
        """Every stdout line, once the process has ended by itself (bounded)."""
        self.proc.wait(timeout=timeout)
        self._reader.join(timeout)
        while True:
            try:
                line = self.lines.get_nowait()
            except queue.Empty:
                break
            if line is None:
                break
            self.seen.append(line)
        return self.seen

    def end(self, timeout: float = STOP_TIMEOUT) -> None:
        """Stop the process by its PID if it still runs (bounded), then release its pipes."""
        try:
            stop_process(self.proc, timeout)
        finally:
            self._reader.join(timeout)
            for stream in (self.proc.stdin, self.proc.stdout):
                if stream is not None:
                    stream.close()
            self._stderr.close()


# -- HTTP ---------------------------------------------------------------------------------------


@dataclass
class Reply:
    """A response as the tests see it: status, headers and the whole body."""

    status: int
    headers: http.client.HTTPMessage
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")

    def json(self) -> Any:
        return json.loads(self.body)

    def header(self, name: str) -> Optional[str]:
        return self.headers.get(name)


class Client:
    """A small HTTP client over ``http.client`` against one server; ``prefix`` starts every path."""

    def __init__(self, port: int, timeout: float = WAIT, host: str = HOST, prefix: str = "") -> None:
        self.host = host
        self.port = port
        self.timeout = timeout
        self.prefix = prefix.rstrip("/")

    @classmethod
    def for_url(cls, base_url: str, timeout: float = WAIT) -> Client:
        """A client of ``http://HOST:PORT[/prefix]``."""
        url = urlsplit(base_url)
        assert url.scheme == "http" and url.hostname and url.port, base_url
        return cls(url.port, timeout, url.hostname, url.path)

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}{self.prefix}"

    @property
    def ws_url(self) -> str:
        return f"ws://{self.host}:{self.port}{self.prefix}"

    def connection(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)

    def request(self, method: str, path: str, body: Any = None, headers: Optional[dict[str, str]] = None,
                conn: Optional[http.client.HTTPConnection] = None) -> Reply:
        """One request; on a new connection, closed after, unless ``conn`` is given (it stays open)."""
        own = conn is None
        c = conn or self.connection()
        try:
            c.request(method, self.prefix + path, body=body, headers=headers or {})
            r = c.getresponse()
            return Reply(r.status, r.headers, r.read())
        finally:
            if own:
                c.close()

    def get(self, path: str, headers: Optional[dict[str, str]] = None) -> Reply:
        return self.request("GET", path, headers=headers)

    def post(self, path: str, body: Any = None, headers: Optional[dict[str, str]] = None,
             content_type: Optional[str] = None) -> Reply:
        if content_type is not None:
            headers = {"Content-Type": content_type, **(headers or {})}
        return self.request("POST", path, body=body, headers=headers)

    def post_json(self, path: str, data: Any, headers: Optional[dict[str, str]] = None) -> Reply:
        return self.post(path, json.dumps(data), headers, "application/json")

    def post_form(self, path: str, fields: dict[str, str]) -> Reply:
        return self.post(path, urlencode(fields), content_type="application/x-www-form-urlencoded")

    def raw(self, data: bytes, read_until_close: bool = True, timeout: float = WAIT) -> bytes:
        """Send raw bytes; what the server answers until it closes (or the first piece only)."""
        received, _ = exchange(self.port, data, timeout, until_close=read_until_close, host=self.host)
        return received


def exchange(port: int, data: bytes, timeout: float = WAIT, until_close: bool = True,
             host: str = HOST) -> tuple[bytes, bool]:
    """Send ``data`` over a new connection; read what the server sends until it closes the
    connection (or, ``until_close=False``, the first piece). Returns what was read and whether
    the server closed (False: ``timeout`` passed with the connection still open)."""
    deadline = time.monotonic() + timeout
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.sendall(data)
        received = b""
        while True:
            sock.settimeout(max(0.05, deadline - time.monotonic()))
            try:
                piece = sock.recv(65536)
            except TimeoutError:
                return received, False
            if not piece:
                return received, True
            received += piece
            if not until_close:
                return received, False


# -- an Application on a real socket -------------------------------------------------------------


@contextlib.contextmanager
def serving(app: Application, driver: str = "threading", **options: Any) -> Iterator[Client]:
    """Serve ``app`` in a thread (``driver``: "threading" or "asyncio") on a free port of
    127.0.0.1 unless ``options`` say otherwise; a ``Client`` for it. Afterwards the app is
    stopped and its thread joined (bounded; AssertionError if it did not end)."""
    options.setdefault("host", HOST)
    options.setdefault("port", 0)
    try:
        thread = app.run_in_thread(prefer_coroutine=driver == "asyncio", **options)
    except BaseException:
        app.stop()  # bound but never ready: release the port
        raise
    try:
        assert app.server is not None
        yield Client(app.server.port)
    finally:
        app.stop()
        thread.join(STOP_TIMEOUT)
        if thread.is_alive():
            raise AssertionError(f"the server thread did not end within {STOP_TIMEOUT} s of app.stop()")


@contextlib.contextmanager
def uvicorn_serving(asgi_app: Callable[..., Any]) -> Iterator[int]:
    """``asgi_app`` under uvicorn in a thread on a free port of 127.0.0.1; the port. Stopped after."""
    import pytest  # only the tests that ask for uvicorn need it

    uvicorn = pytest.importorskip("uvicorn")
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.bind(("127.0.0.1", 0))
        sock.listen(64)
        server = uvicorn.Server(uvicorn.Config(asgi_app, log_level="critical", lifespan="on"))
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        try:
            assert wait_until(lambda: server.started, timeout=STOP_TIMEOUT), "uvicorn did not start"
            yield int(sock.getsockname()[1])
        finally:
            server.should_exit = True
            thread.join(STOP_TIMEOUT)
        assert not thread.is_alive(), "uvicorn did not stop"
    finally:
        sock.close()
