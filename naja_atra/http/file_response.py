"""Turning a returned ``StaticFile`` into a response body: the file-system side of it.

``finalize`` does no I/O, so the dispatcher calls :func:`open_static` first: it stats the
file (404 when it is gone), sets the file's headers, answers a conditional GET with ``304``
and opens the file (except for ``HEAD``), leaving a :class:`FileBody` that ``finalize``
frames like any other body of known length.
"""
from __future__ import annotations

import os
from typing import Optional

from .errors import HttpError
from .request import Request
from .response import Response
from .results import StaticFile
from .static_files import FileChunks, file_headers, iter_file, not_modified

__all__ = ["FileBody", "open_static"]


class FileBody:
    """A file to send: its ``size`` (the Content-Length) and its open ``chunks`` (None for
    ``HEAD``, which sends no body)."""

    __slots__ = ("size", "chunks")

    def __init__(self, size: int, chunks: Optional[FileChunks]) -> None:
        self.size = size
        self.chunks = chunks

    def __repr__(self) -> str:
        return f"<FileBody {self.size} bytes>"


def open_static(request: Request, response: Response) -> None:
    """Replace the ``StaticFile`` body of ``response`` by the file's headers and body.

    Raises ``HttpError(404)`` when the file does not exist (or cannot be read).
    """
    static = response.body
    assert isinstance(static, StaticFile)
    try:
        stat = os.stat(static.file_path)
    except OSError:
        raise HttpError(404, "Not Found") from None
    headers = response.headers
    for name, value in file_headers(static.file_path, stat, static.content_type):
        if name not in headers:
            headers[name] = value
    etag = headers.get("ETag")
    if response.status_code == 200 and isinstance(etag, str) and not_modified(request.headers, etag, stat.st_mtime):
        response.status_code = 304
        headers.pop("Content-Length", None)
        headers.pop("Content-Type", None)
        response.body = None
        return
    if request.method == "HEAD":
        response.body = FileBody(stat.st_size, None)
        return
    try:
        chunks = iter_file(static.file_path, length=stat.st_size)
    except OSError:
        raise HttpError(404, "Not Found") from None
    response.body = FileBody(stat.st_size, chunks)
