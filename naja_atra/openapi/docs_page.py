"""The docs page: an HTML page that renders an application's OpenAPI document, and its files.

The page is three files of this package (``assets/docs.html``, ``docs.css``, ``docs.js``),
written for naja_atra: plain HTML, CSS and JavaScript, no framework, nothing loaded from
anywhere but the application, so it works offline. The script fetches the document and
renders its operations (see docs/openapi.md, "The docs page").

Every URL the page holds is relative to the page itself (``openapi.json`` for a page at
``/docs`` and a document at ``/openapi.json``), so the page works under whatever prefix the
application is mounted at (an ASGI ``root_path``, a proxy that strips a prefix): the
application's paths are all the page needs to know. The built-in plugin
``naja_atra.openapi`` serves what :class:`DocsPage` holds.
"""
from __future__ import annotations

import functools
import hashlib
import html
import posixpath
import re
import string
from dataclasses import dataclass
from importlib import resources
from typing import Mapping, Optional
from urllib.parse import quote

from ..http.errors import ConfigurationError

__all__ = ["Served", "DocsPage", "check_url", "relative_url", "etag_matches", "weak_etag", "CONTENT_SECURITY_POLICY"]

#: The page's own files, served below the docs URL, and their content types.
ASSET_TYPES: Mapping[str, str] = {
    "naja_atra-docs.css": "text/css; charset=utf-8",
    "naja_atra-docs.js": "text/javascript; charset=utf-8",
}
_PACKAGED = {"naja_atra-docs.css": "docs.css", "naja_atra-docs.js": "docs.js"}
#: Only the application's own files and requests: the page has no inline script or style,
#: so a strict policy costs it nothing.
CONTENT_SECURITY_POLICY = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                           "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'self'")
# The page may change with the application's options (title, URLs): revalidate it each time.
_PAGE_CACHE = "no-cache"
# An asset's URL carries its content hash (``?v=``), so a changed file gets a new URL.
_ASSET_CACHE = "public, max-age=86400"
# The characters a configured URL may hold: those of a path segment that need no encoding
# in a URL, so what the router compares is what the browser sends.
_URL_RE = re.compile(r"/(?:[A-Za-z0-9._~!$&'()+,;=:@-]+/?)*")
_ENTITY_TAG_RE = re.compile(r'(?:W/)?"([^"]*)"')


@dataclass(frozen=True)
class Served:
    """One body the plugin serves: its bytes, content type, validator and cache policy."""

    body: bytes
    content_type: str
    etag: str
    cache_control: str
    #: More headers for this body (the page's Content-Security-Policy).
    headers: tuple[tuple[str, str], ...] = ()


def weak_etag(body: bytes) -> str:
    """A weak entity tag of ``body``: weak, because a gzip representation of the same bytes
    (``gzip_content_types``) keeps it, and weak comparison is all ``If-None-Match`` uses."""
    return f'W/"{hashlib.sha256(body).hexdigest()[:24]}"'


def etag_matches(if_none_match: Optional[str], etag: str) -> bool:
    """Whether an ``If-None-Match`` header value lets a GET/HEAD be answered 304:
    ``*``, or a listed tag equal to ``etag`` under weak comparison (RFC 9110 13.1.2)."""
    if if_none_match is None or not if_none_match.strip():
        return False
    if if_none_match.strip() == "*":
        return True
    ours = _ENTITY_TAG_RE.fullmatch(etag)
    opaque = ours.group(1) if ours else etag
    return any(match.group(1) == opaque for match in _ENTITY_TAG_RE.finditer(if_none_match))


def check_url(option: str, url: str) -> None:
    """``ConfigurationError`` unless ``url`` is a path the page can link to: it starts with
    ``/``, has no empty, ``.`` or ``..`` segment, and no character a URL would have to
    encode (nor ``{``, ``*``, ``?``, ``#``, which routes and URLs give a meaning)."""
    if not isinstance(url, str) or not _URL_RE.fullmatch(url):
        raise ConfigurationError(
            f"{option}={url!r}: expected a path such as '/docs' (starting with '/', letters, digits and "
            f"-._~!$&'()+,;=:@ only, no empty segment)")
    if any(segment in (".", "..") for segment in url.split("/")):
        raise ConfigurationError(f"{option}={url!r}: a '.' or '..' segment is not a path of its own")


def relative_url(target: str, page: str) -> str:
    """The URL of ``target`` relative to a page at ``page`` (both absolute paths of the
    application): ``relative_url("/openapi.json", "/api/docs")`` is ``"../openapi.json"``."""
    base = page[:page.rfind("/") + 1]  # the page's folder: "/api/" for "/api/docs"
    rel = posixpath.relpath(target, base)
    if rel == ".":
        return "./"
    if target.endswith("/"):
        rel += "/"
    # "./" keeps a first segment holding ":" from reading as a URL scheme.
    return "./" + quote(rel) if not rel.startswith(".") else quote(rel)


def asset_path(docs_url: str, name: str) -> str:
    """Where the page's file ``name`` is served: below ``docs_url``."""
    return f"{docs_url.rstrip('/')}/{name}"


@functools.cache  # the three packaged files, read once per process
def _packaged(name: str) -> bytes:
    return resources.files(__package__).joinpath("assets").joinpath(name).read_bytes()


class DocsPage:
    """The docs page of an application whose page is at ``docs_url`` and whose document is
    at ``openapi_url``: ``files`` maps each path to serve (the page, its stylesheet and its
    script) to what is served there. ``ConfigurationError`` names a URL the page cannot use.
    """

    def __init__(self, docs_url: str, openapi_url: str, title: str) -> None:
        check_url("docs_url", docs_url)
        check_url("openapi_url", openapi_url)
        files: dict[str, Served] = {}
        links: dict[str, str] = {}
        for name, content_type in ASSET_TYPES.items():
            body = _packaged(_PACKAGED[name])
            served = Served(body, content_type, weak_etag(body), _ASSET_CACHE)
            path = asset_path(docs_url, name)
            files[path] = served
            links[name] = f"{relative_url(path, docs_url)}?v={served.etag[3:-1]}"
        template = string.Template(_packaged("docs.html").decode("utf-8"))
        page = template.substitute(
            title=html.escape(title),
            stylesheet=html.escape(links["naja_atra-docs.css"]),
            script=html.escape(links["naja_atra-docs.js"]),
            openapi=html.escape(relative_url(openapi_url, docs_url)),
            root=html.escape(relative_url("/", docs_url)),
        ).encode("utf-8")
        served_page = Served(page, "text/html; charset=utf-8", weak_etag(page), _PAGE_CACHE,
                             (("Content-Security-Policy", CONTENT_SECURITY_POLICY),))
        files = {docs_url: served_page, **files}
        if openapi_url in files:
            raise ConfigurationError(f"openapi_url={openapi_url!r} is a path of the docs page (docs_url={docs_url!r})")
        self.docs_url = docs_url
        self.files: dict[str, Served] = files
