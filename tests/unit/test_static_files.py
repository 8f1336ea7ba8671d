"""naja_atra.http.static_files: mapping forms, traversal, symlinks, headers, conditional GET."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from naja_atra.http.file_response import file_headers, guess_type, iter_file, make_etag, not_modified
from naja_atra.http.headers import HeaderMap
from naja_atra.http.static_files import StaticMapping


@pytest.fixture
def site(tmp_path: Path) -> Path:
    """root/{a.txt, x.css, d/b.txt, d/e/c.js, d/y.css, .hidden}, and secret.txt next to root."""
    root = tmp_path / "root"
    for rel in ("a.txt", "x.css", "d/b.txt", "d/e/c.js", "d/y.css", "top.js", ".hidden"):
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"content of {rel}")
    (tmp_path / "secret.txt").write_text("secret")
    return root


def real(path: Path) -> str:
    return os.path.realpath(path)


def test_single_star_maps_one_segment(site: Path) -> None:
    mapping = StaticMapping({"/p/*": str(site)})
    assert mapping.resolve("/p/a.txt") == real(site / "a.txt")
    assert mapping.resolve("/p/d/b.txt") is None  # deeper: not for "*"
    assert mapping.resolve("/p/missing.txt") is None
    assert mapping.resolve("/q/a.txt") is None
    assert mapping.resolve("/pa.txt") is None


def test_double_star_maps_any_depth(site: Path) -> None:
    mapping = StaticMapping({"/p/**": str(site)})
    assert mapping.resolve("/p/a.txt") == real(site / "a.txt")
    assert mapping.resolve("/p/d/b.txt") == real(site / "d/b.txt")
    assert mapping.resolve("/p/d/e/c.js") == real(site / "d/e/c.js")


@pytest.mark.parametrize("key", ["/p", "/p/", "p"])
def test_plain_prefix_means_double_star(site: Path, key: str) -> None:
    mapping = StaticMapping({key: str(site)})
    assert mapping.resolve("/p/d/e/c.js") == real(site / "d/e/c.js")
    assert mapping.resolve("/p/a.txt") == real(site / "a.txt")
    assert mapping.resolve("/pa.txt") is None


def test_root_prefix_serves_everything(site: Path) -> None:
    assert StaticMapping({"/": str(site)}).resolve("/d/b.txt") == real(site / "d/b.txt")
    assert StaticMapping({"/**": str(site)}).resolve("/d/b.txt") == real(site / "d/b.txt")
    assert StaticMapping({"/*": str(site)}).resolve("/d/b.txt") is None


def test_star_suffix_matches_top_level_names_only(site: Path) -> None:
    # as in the reference: "*.css" matches "/x.css" (-> root/x.css) but not "/d/y.css"
    mapping = StaticMapping({"*.css": str(site)})
    assert mapping.resolve("/x.css") == real(site / "x.css")
    assert mapping.resolve("/d/y.css") is None
    assert mapping.resolve("/a.txt") is None
    assert mapping.resolve("/.css") is None  # a name needs more than the suffix


def test_double_star_suffix_keeps_the_whole_path(site: Path) -> None:
    # as in the reference: "**.js" maps "/d/e/c.js" to root/d/e/c.js
    mapping = StaticMapping({"**.js": str(site)})
    assert mapping.resolve("/top.js") == real(site / "top.js")
    assert mapping.resolve("/d/e/c.js") == real(site / "d/e/c.js")
    assert mapping.resolve("/d/b.txt") is None


def test_prefix_with_suffix(site: Path) -> None:
    mapping = StaticMapping({"/assets/**.css": str(site), "/t/*.txt": str(site)})
    assert mapping.resolve("/assets/d/y.css") == real(site / "d/y.css")
    assert mapping.resolve("/assets/d/b.txt") is None
    assert mapping.resolve("/t/a.txt") == real(site / "a.txt")
    assert mapping.resolve("/t/x.css") is None


def test_rules_are_tried_in_order_and_fall_through(site: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    other.mkdir()
    (other / "only_here.txt").write_text("x")
    (other / "a.txt").write_text("shadowed")
    mapping = StaticMapping({"/p/**": str(site), "/p/*": str(other)})
    assert mapping.resolve("/p/a.txt") == real(site / "a.txt")
    assert mapping.resolve("/p/only_here.txt") == real(other / "only_here.txt")


@pytest.mark.parametrize("bad", ["/p/**/*.js", "/p/*.c*", "/p/**/x", "/p/{x", "/a/../*", "/a//*"])
def test_bad_patterns_fail_at_construction(bad: str) -> None:
    with pytest.raises(ValueError):
        StaticMapping({bad: "/tmp"})


def test_wildcards_anywhere_a_route_allows_them(site: Path) -> None:
    # docs/paths.md: one dialect, so "/p/*/x" and "/p/a*" (refused before) map like routes;
    # the file is the path from the first segment with a wildcard on.
    mapping = StaticMapping({"/p/*/b.txt": str(site), "/q/to*": str(site), "/r/{name}.css": str(site)})
    assert mapping.resolve("/p/d/b.txt") == real(site / "d/b.txt")
    assert mapping.resolve("/p/d/e/b.txt") is None
    assert mapping.resolve("/q/top.js") == real(site / "top.js")
    assert mapping.resolve("/q/to") is None
    assert mapping.resolve("/r/x.css") == real(site / "x.css")


def test_empty_mapping() -> None:
    mapping = StaticMapping()
    assert not mapping and len(mapping) == 0
    assert mapping.resolve("/a.txt") is None


@pytest.mark.parametrize("attack", [
    "/p/../secret.txt",
    "/p/d/../../secret.txt",
    "/p/d/..",
    "/p/./a.txt",
    "/p/..",
    "/p//secret.txt",
    "/p/d/b.txt/",
    "/p/..\\secret.txt",
    "/p/d\\..\\..\\secret.txt",
    "/p/a.txt\x00.png",
    "/p/" + "{secret}",
    "//etc/passwd",
    "/p//etc/passwd",
    "",
    "/",
])
def test_traversal_attempts_are_refused(site: Path, attack: str) -> None:
    mapping = StaticMapping({"/p/**": str(site), "**.txt": str(site)})
    path = attack.format(secret=site.parent / "secret.txt")  # an absolute component
    assert mapping.resolve(path) is None


def test_directories_are_not_served(site: Path) -> None:
    mapping = StaticMapping({"/p/**": str(site)})
    assert mapping.resolve("/p/d") is None
    assert mapping.resolve("/p/d/e") is None
    assert mapping.resolve("/p") is None


@pytest.mark.skipif(sys.platform == "win32", reason="symlinks need privileges on Windows")
def test_symlinks(site: Path, tmp_path: Path) -> None:
    (site / "leak.txt").symlink_to(tmp_path / "secret.txt")
    (site / "leakdir").symlink_to(tmp_path)
    (site / "alias.txt").symlink_to(site / "d" / "b.txt")
    (site / "dlink").symlink_to(site / "d")
    (site / "dangling.txt").symlink_to(site / "nowhere.txt")
    mapping = StaticMapping({"/p/**": str(site)})
    assert mapping.resolve("/p/leak.txt") is None
    assert mapping.resolve("/p/leakdir/secret.txt") is None
    assert mapping.resolve("/p/alias.txt") == real(site / "d/b.txt")
    assert mapping.resolve("/p/dlink/e/c.js") == real(site / "d/e/c.js")
    assert mapping.resolve("/p/dangling.txt") is None


@pytest.mark.skipif(sys.platform == "win32", reason="symlinks need privileges on Windows")
def test_root_that_is_a_symlink(site: Path, tmp_path: Path) -> None:
    link = tmp_path / "root_link"
    link.symlink_to(site)
    mapping = StaticMapping({"/p/**": str(link)})
    assert mapping.resolve("/p/d/b.txt") == real(site / "d/b.txt")
    assert mapping.resolve("/p/../secret.txt") is None


def test_relative_root_is_made_absolute(site: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(site.parent)
    mapping = StaticMapping({"/p/**": "root"})
    monkeypatch.chdir("/")
    assert mapping.resolve("/p/a.txt") == real(site / "a.txt")


@pytest.mark.parametrize(("name", "expected"), [
    ("a.html", "text/html; charset=utf-8"),
    ("a.css", "text/css; charset=utf-8"),
    ("a.js", "text/javascript; charset=utf-8"),
    ("a.mjs", "text/javascript; charset=utf-8"),
    ("a.json", "application/json; charset=utf-8"),
    ("A.JSON", "application/json; charset=utf-8"),
    ("a.svg", "image/svg+xml; charset=utf-8"),
    ("a.png", "image/png"),
    ("a.wasm", "application/wasm"),
    ("a.tar.gz", "application/gzip"),
    ("a.unknownext", "application/octet-stream"),
    ("noext", "application/octet-stream"),
])
def test_guess_type(name: str, expected: str) -> None:
    assert guess_type(name) == expected


def test_file_headers(site: Path) -> None:
    path = site / "a.txt"
    os.utime(path, ns=(1_700_000_000_123_456_789, 1_700_000_000_123_456_789))
    stat = os.stat(path)
    headers = dict(file_headers(str(path), stat, "text/plain"))
    assert headers["Content-Type"] == "text/plain"
    assert headers["Last-Modified"] == "Tue, 14 Nov 2023 22:13:20 GMT"
    assert headers["ETag"] == f'W/"{stat.st_size:x}-{1_700_000_000_123_456_789:x}"' == make_etag(stat)
    assert headers["Cache-Control"] == "no-cache"
    assert dict(file_headers(str(path), stat, ""))["Content-Type"] == "text/plain; charset=utf-8"


ETAG = 'W/"1a-17f"'
MTIME = 1_700_000_000.9  # Last-Modified says 22:13:20, the whole second
LAST_MODIFIED = "Tue, 14 Nov 2023 22:13:20 GMT"


@pytest.mark.parametrize(("headers", "expected"), [
    ({}, False),
    ({"If-None-Match": ETAG}, True),
    ({"If-None-Match": '"1a-17f"'}, True),  # weak comparison: W/ ignored
    ({"if-none-match": '"other", W/"1a-17f"'}, True),
    ({"If-None-Match": '"other", "x,y"'}, False),
    ({"If-None-Match": "*"}, True),
    ({"If-None-Match": '"nope"'}, False),
    ({"If-None-Match": "garbage"}, False),
    # If-None-Match takes precedence over If-Modified-Since
    ({"If-None-Match": '"nope"', "If-Modified-Since": LAST_MODIFIED}, False),
    ({"If-None-Match": ETAG, "If-Modified-Since": "Thu, 01 Jan 1970 00:00:00 GMT"}, True),
    ({"If-Modified-Since": LAST_MODIFIED}, True),
    ({"If-Modified-Since": "Tue, 14 Nov 2023 22:13:21 GMT"}, True),
    ({"If-Modified-Since": "Tue, 14 Nov 2023 22:13:19 GMT"}, False),
    ({"If-Modified-Since": "Tuesday, 14-Nov-23 22:13:20 GMT"}, True),  # obsolete RFC 850 form
    ({"If-Modified-Since": "Tue Nov 14 22:13:20 2023"}, True),  # asctime form
    ({"If-Modified-Since": "not a date"}, False),
    ({"If-Modified-Since": ""}, False),
])
def test_not_modified(headers: dict[str, str], expected: bool) -> None:
    assert not_modified(headers, ETAG, MTIME) is expected
    assert not_modified(HeaderMap(headers.items()), ETAG, MTIME) is expected


def test_not_modified_with_a_strong_server_etag() -> None:
    assert not_modified({"If-None-Match": 'W/"abc"'}, '"abc"', 0.0)


def test_iter_file_streams_and_closes(site: Path) -> None:
    path = site / "big.bin"
    data = os.urandom(10_000)
    path.write_bytes(data)
    chunks = iter_file(str(path), chunk_size=4096)
    assert [len(c) for c in chunks] == [4096, 4096, 1808]
    assert chunks.closed
    assert b"".join(iter_file(str(path))) == data


def test_iter_file_close_early(site: Path) -> None:
    chunks = iter_file(str(site / "a.txt"), chunk_size=2)
    assert next(chunks) == b"co"
    chunks.close()
    assert chunks.closed
    assert list(chunks) == []
    with iter_file(str(site / "a.txt")) as unstarted:
        pass
    assert unstarted.closed


def test_iter_file_length_caps_a_growing_file(site: Path) -> None:
    assert b"".join(iter_file(str(site / "a.txt"), chunk_size=3, length=5)) == b"conte"


def test_iter_file_fails_before_the_first_chunk(site: Path) -> None:
    with pytest.raises(FileNotFoundError):
        iter_file(str(site / "missing.txt"))
    with pytest.raises(ValueError):
        iter_file(str(site / "a.txt"), chunk_size=0)
