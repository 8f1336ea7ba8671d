"""An application for the upload tests, served in its own process by each kind of server.

``python -m tests.upload_app --port P --mode threading|asyncio`` serves it with the built-in
servers; ``tests.upload_app:app`` (ASGI) and ``tests.upload_app:wsgi_app`` (WSGI) for the
others. ``/peak`` answers the process's peak resident memory (``VmHWM``, kB), so a test can
measure what an upload cost the server.
"""
from __future__ import annotations

import argparse
import hashlib
from typing import Any

from naja_atra import Application, MultipartFile, RequestBodyReader

MIB = 1024 * 1024
#: The upload routes take bodies up to this size (the application default stays 16 MiB).
UPLOAD_LIMIT = 200 * MIB

app = Application(load_entry_points=False)


def peak_rss_kb() -> int:
    """This process's peak resident set size (Linux ``VmHWM``), in kB; 0 where unknown."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


@app.route("/peak")
def peak() -> dict[str, int]:
    return {"peak_kb": peak_rss_kb()}


@app.route("/stream", method=["POST", "PUT"], max_body_size=UPLOAD_LIMIT)
async def stream(reader: RequestBodyReader) -> dict[str, Any]:
    digest = hashlib.sha256()
    size = 0
    while True:
        piece = await reader.read(MIB)
        if not piece:
            break
        size += len(piece)
        digest.update(piece)
    return {"size": size, "sha256": digest.hexdigest()}


@app.route("/stream-sync", method=["POST", "PUT"], max_body_size=UPLOAD_LIMIT)
def stream_sync(reader: RequestBodyReader) -> dict[str, Any]:
    digest = hashlib.sha256()
    size = 0
    for piece in reader:
        size += len(piece)
        digest.update(piece)
    return {"size": size, "sha256": digest.hexdigest()}


@app.route("/upload", method="POST", max_body_size=UPLOAD_LIMIT)
def upload(file: MultipartFile = MultipartFile("file", required=True)) -> dict[str, Any]:
    digest = hashlib.sha256()
    for piece in file.chunks():
        digest.update(piece)
    return {"size": file.size, "on_disk": file.on_disk, "sha256": digest.hexdigest()}


wsgi_app = app.wsgi


def main() -> None:
    """Serve with a built-in server (``--mode``) on ``--port`` of 127.0.0.1."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--mode", choices=("threading", "asyncio"), default="threading")
    args = parser.parse_args()
    app.start(host="127.0.0.1", port=args.port, prefer_coroutine=args.mode == "asyncio")


if __name__ == "__main__":
    main()
