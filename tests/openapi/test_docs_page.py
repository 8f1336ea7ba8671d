"""The docs page's parts without a server (``naja_atra.openapi.docs_page``), and the options
``naja_atra.openapi`` refuses when the application is built. Serving over sockets:
``tests/e2e/test_openapi_served_e2e.py``; the page in a browser: ``test_docs_page_browser.py``."""
from __future__ import annotations

import re
import sys
import types
from dataclasses import replace
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from naja_atra import Application
from naja_atra.http.errors import ConfigurationError
from naja_atra.openapi.docs_page import (
    CONTENT_SECURITY_POLICY,
    DocsPage,
    check_url,
    etag_matches,
    relative_url,
    weak_etag,
)
from tests.docs.test_injection_docs import Block, parse_blocks

ASSETS = resources.files("naja_atra.openapi").joinpath("assets")


@pytest.mark.parametrize(("target", "page", "expected"), [
    ("/openapi.json", "/docs", "./openapi.json"),
    ("/openapi.json", "/api/docs", "../openapi.json"),
    ("/openapi.json", "/docs/", "../openapi.json"),
    ("/api/openapi.json", "/api/docs", "./openapi.json"),
    ("/a/b/schema.json", "/docs", "./a/b/schema.json"),
    ("/", "/docs", "./"),
    ("/", "/api/v1/docs", "../../"),
    ("/", "/docs/", "../"),
    ("/api/", "/api/docs", "./"),
    ("/docs/naja_atra-docs.js", "/docs", "./docs/naja_atra-docs.js"),
    ("/docs/naja_atra-docs.js", "/docs/", "./naja_atra-docs.js"),
    ("/v1:json", "/docs", "./v1%3Ajson"),  # never read as a URL scheme
    ("/it's(1)", "/docs", "./it%27s%281%29"),
])
def test_relative_urls(target: str, page: str, expected: str) -> None:
    assert relative_url(target, page) == expected


@pytest.mark.parametrize("url", ["/", "/docs", "/docs/", "/api/v1/openapi.json", "/a-b_c~d/x:y@z", "/it's(1)+2"])
def test_urls_the_page_can_use(url: str) -> None:
    check_url("docs_url", url)


@pytest.mark.parametrize("url", [
    "", "docs", "//docs", "/a//b", "/docs?x=1", "/docs#top", "/{name}", "/a/*", "/a/**", "/do cs", "/docs\n",
    "/caf\u00e9", "/a/../b", "/./docs", "/docs/..", "/a\\b", "/a%20b", '/a"b', "/a<b",
])
def test_urls_the_page_refuses(url: str) -> None:
    with pytest.raises(ConfigurationError, match="docs_url="):
        check_url("docs_url", url)


def test_a_url_that_is_not_a_string_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="openapi_url="):
        check_url("openapi_url", b"/openapi.json")  # type: ignore[arg-type]


def test_weak_etags_and_if_none_match() -> None:
    etag = weak_etag(b"body")
    assert re.fullmatch(r'W/"[0-9a-f]{24}"', etag)
    assert weak_etag(b"body") == etag and weak_etag(b"other") != etag
    opaque = etag[2:]
    for header in (etag, opaque, "*", " * ", f'"x", {etag}', f'W/"x",{opaque}'):
        assert etag_matches(header, etag), header
    for refused in (None, "", "  ", '"x"', 'W/"x", "y"', opaque[:-2] + '"', "garbage"):
        assert not etag_matches(refused, etag), refused


def test_the_page_links_its_files_relative_to_itself() -> None:
    page = DocsPage("/api/docs", "/openapi.json", "Shop & <Co>")
    assert list(page.files) == ["/api/docs", "/api/docs/naja_atra-docs.css", "/api/docs/naja_atra-docs.js"]
    served = page.files["/api/docs"]
    html = served.body.decode()
    assert served.content_type == "text/html; charset=utf-8"
    assert served.cache_control == "no-cache"
    assert served.headers == (("Content-Security-Policy", CONTENT_SECURITY_POLICY),)
    assert "<title>Shop &amp; &lt;Co&gt;</title>" in html
    assert 'data-openapi="../openapi.json"' in html
    assert 'data-root="../"' in html
    css, js = page.files["/api/docs/naja_atra-docs.css"], page.files["/api/docs/naja_atra-docs.js"]
    assert f'href="./docs/naja_atra-docs.css?v={css.etag[3:-1]}"' in html
    assert f'src="./docs/naja_atra-docs.js?v={js.etag[3:-1]}"' in html
    assert (css.content_type, css.body) == ("text/css; charset=utf-8", ASSETS.joinpath("docs.css").read_bytes())
    assert (js.content_type, js.body) == ("text/javascript; charset=utf-8", ASSETS.joinpath("docs.js").read_bytes())
    assert css.cache_control == js.cache_control == "public, max-age=86400"


def test_the_page_has_no_inline_script_style_or_handler() -> None:
    """What lets the page run under its strict Content-Security-Policy."""
    html = DocsPage("/docs", "/openapi.json", "Shop").files["/docs"].body.decode()
    assert not re.search(r"<script(?![^>]*\bsrc=)", html)
    assert "<style" not in html and " style=" not in html
    assert not re.search(r"\son[a-z]+=", html)
    script = ASSETS.joinpath("docs.js").read_text()
    assert "innerHTML" not in script and "eval(" not in script and "http://" not in script and "https://" not in script


def test_the_page_files_are_small() -> None:
    """Written to be read: a few hundred lines each."""
    for name in ("docs.html", "docs.css", "docs.js"):
        assert len(ASSETS.joinpath(name).read_text().splitlines()) < 500, name


# -- options refused at build ----------------------------------------------------------------


def test_docs_url_without_openapi_url_is_refused_at_build() -> None:
    app = Application(docs_url="/docs")
    with pytest.raises(ConfigurationError, match="docs_url='/docs' needs openapi_url"):
        app.build()


def test_urls_set_after_construction_are_checked_at_build() -> None:
    app = Application()
    app.build()
    app.docs_url = "/docs"

    @app.route("/later", method="GET")  # a registration after a build: the next use rebuilds
    def later() -> str:
        return "later"

    with pytest.raises(ConfigurationError, match="needs openapi_url"):
        app.build()


@pytest.mark.parametrize(("options", "message"), [
    ({"openapi_url": "openapi.json"}, "openapi_url='openapi.json'"),
    ({"openapi_url": "/openapi.json", "docs_url": "docs"}, "docs_url='docs'"),
    ({"openapi_url": "/{spec}"}, "openapi_url='/{spec}'"),
    ({"openapi_url": "/docs", "docs_url": "/docs"}, "the same path"),
    ({"openapi_url": "/docs/naja_atra-docs.js", "docs_url": "/docs"}, "is a path of the docs page"),
])
def test_bad_urls_are_refused_at_build(options: dict[str, str], message: str) -> None:
    app = Application(**options)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match=re.escape(message)):
        app.build()


@pytest.mark.parametrize(("path", "methods"), [("/docs", ("GET",)), ("/openapi.json", ()), ("/docs", ("HEAD", "PUT"))])
def test_a_get_route_at_a_served_path_is_refused(path: str, methods: tuple[str, ...]) -> None:
    app = Application(openapi_url="/openapi.json", docs_url="/docs")

    @app.route(path, method=list(methods))
    def mine() -> str:
        return "mine"

    with pytest.raises(ConfigurationError, match=f"'{path}' is served by naja_atra.openapi.*test_docs_page"):
        app.build()


def test_the_served_routes_are_named_and_not_in_the_document() -> None:
    app = Application(openapi_url="/openapi.json", docs_url="/docs")

    @app.route("/docs", method="POST")  # another method at a served path is fine
    def feedback() -> str:
        return "thanks"

    served = [route for route in app.routes() if route.extras.get("openapi")]
    assert [(route.path, route.methods, route.include_in_schema) for route in served] == [
        ("/openapi.json", ("GET", "HEAD"), False),
        ("/docs", ("GET", "HEAD"), False),
        ("/docs/naja_atra-docs.css", ("GET", "HEAD"), False),
        ("/docs/naja_atra-docs.js", ("GET", "HEAD"), False),
    ]
    assert app.url_for("naja_atra.docs") == "/docs"
    assert app.url_for("naja_atra.openapi") == "/openapi.json"
    assert list(app.openapi()["paths"]) == ["/docs"]
    assert list(app.openapi()["paths"]["/docs"]) == ["post"]



# -- the examples of docs/openapi.md's section "The docs page" ---------------------------------

DOC = Path(__file__).resolve().parents[2] / "docs" / "openapi.md"
_TEXT = DOC.read_text(encoding="utf-8")
_START = _TEXT.index("\n## The docs page") + 1
_LINES_BEFORE = _TEXT.count("\n", 0, _START)
#: The section's python blocks, with their line numbers in the whole page.
SECTION = [replace(block, line=block.line + _LINES_BEFORE) for block in parse_blocks(_TEXT[_START:])]


def run_block(block: Block) -> dict[str, Any]:
    """Run a block as a fresh module (tracebacks show the markdown lines); its globals."""
    name = f"docs_openapi_page_{block.name.replace('-', '_')}"
    module = types.ModuleType(name)
    module.__file__ = str(DOC)
    sys.modules[name] = module
    try:
        exec(compile("\n" * (block.line - 1) + block.code, str(DOC), "exec"), module.__dict__)
    finally:
        del sys.modules[name]
    return module.__dict__


def test_every_python_block_of_the_section_is_marked() -> None:
    assert [b.kind for b in SECTION] == ["test", "compile", "compile"]


def test_the_section_example_serves_the_document_and_the_page() -> None:
    (block,) = [b for b in SECTION if b.name == "docs-page"]
    app: Application = run_block(block)["app"]
    with app.test_client() as client:
        document = client.get("/openapi.json")
        assert document.headers["Content-Type"] == "application/json"
        assert document.json() == app.openapi()
        assert document.json()["paths"]["/items/{item_id}"]["get"]["summary"] == "Show one item."
        page = client.get("/docs")
        assert page.headers["Content-Type"] == "text/html; charset=utf-8"
        assert "<title>Shop</title>" in page.text
    assert app.url_for("naja_atra.docs") == "/docs"


@pytest.mark.parametrize("block", [b for b in SECTION if b.kind == "compile"], ids=lambda b: b.name)
def test_the_section_fragments_compile(block: Block) -> None:
    compile(block.code, f"{DOC}:{block.line}", "exec")


def test_the_filter_example_keeps_the_page_for_staff() -> None:
    block = next(b for b in SECTION if "staff_only" in b.code)
    app: Application = run_block(block)["app"]
    with app.test_client() as client:
        for path in ("/docs", "/openapi.json", "/docs/naja_atra-docs.js"):
            assert client.get(path).status_code == 403, path
            assert client.get(path, headers={"X-Staff-Token": "let-me-in"}).status_code == 200, path
