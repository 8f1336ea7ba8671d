"""The typed surface is tested like any other: ``mypy --strict`` must accept every file in
``pass/`` and reject every file in ``fail/`` with exactly the errors it announces.

A line of a ``fail/`` file that must be flagged ends with ``# expect-error: CODE`` (several
codes separated by commas); every such line must be reported with that error code, and
nothing else in the file may be. mypy runs twice in all (once over ``pass/``, once over
``fail/``) with a private cache, through its API (``mypy.api.run``).
"""
from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path
from typing import Iterator

import pytest

api = pytest.importorskip("mypy.api")

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
PASS_FILES = sorted((HERE / "pass").glob("*.py"))
FAIL_FILES = sorted((HERE / "fail").glob("*.py"))
_ERROR = re.compile(r"^(?P<path>[^:\n]+\.py):(?P<line>\d+): error: (?P<message>.*?)(?:  \[(?P<code>[a-z0-9-]+)\])?$",
                    re.MULTILINE)
_EXPECT = re.compile(r"#\s*expect-error:\s*(?P<codes>[a-z0-9-]+(?:\s*,\s*[a-z0-9-]+)*)")

Reported = dict[str, set[tuple[int, str]]]


def run_mypy(files: list[Path], cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[str, int, Reported]:
    """mypy --strict on ``files`` with the project's configuration; its output, exit status,
    and the errors reported per file (relative path -> {(line, code)})."""
    monkeypatch.chdir(ROOT)  # mypy_path ("stubs") is relative to the working directory
    args = ["--strict", "--config-file", str(ROOT / "pyproject.toml"), "--cache-dir", str(cache_dir),
            "--show-error-codes", "--no-pretty", "--no-color-output", "--hide-error-context",
            *[str(f.relative_to(ROOT)) for f in files]]
    stdout, stderr, status = api.run(args)
    reported: Reported = defaultdict(set)
    for match in _ERROR.finditer(stdout):
        path = Path(match["path"]).as_posix()
        reported[path].add((int(match["line"]), match["code"] or "misc"))
    return stdout + stderr, status, reported


def expected_errors(path: Path) -> set[tuple[int, str]]:
    """The (line, code) pairs a fail/ file announces with ``# expect-error: CODE``."""
    expected: set[tuple[int, str]] = set()
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        found = _EXPECT.search(line)
        if found:
            expected.update((number, code.strip()) for code in found["codes"].split(","))
    return expected


@pytest.fixture(scope="module")
def mypy_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One cache for both runs of this module, apart from the developers' ``.mypy_cache``."""
    yield tmp_path_factory.mktemp("mypy-cache")


@pytest.fixture(scope="module")
def fail_run(mypy_cache: Path) -> Iterator[tuple[str, int, Reported]]:
    with pytest.MonkeyPatch.context() as mp:
        yield run_mypy(FAIL_FILES, mypy_cache, mp)


def test_there_are_typing_cases() -> None:
    assert PASS_FILES, "tests/typing/pass is empty"
    assert FAIL_FILES, "tests/typing/fail is empty"


def test_pass_files_type_check(mypy_cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    output, status, reported = run_mypy(PASS_FILES, mypy_cache, monkeypatch)
    ours = {path: errors for path, errors in reported.items() if path.startswith("tests/typing/pass/")}
    assert not ours, output
    # Errors elsewhere (the package itself) are mypy --strict naja_atra's business, but a
    # crash or a configuration error must not pass for success.
    assert status in (0, 1), output
    assert "error:" in output or "Success" in output, output


@pytest.mark.parametrize("path", FAIL_FILES, ids=lambda p: p.stem)
def test_fail_file_is_rejected_with_the_announced_errors(path: Path, fail_run: tuple[str, int, Reported]) -> None:
    output, status, reported = fail_run
    assert status == 1, output
    expected = expected_errors(path)
    assert expected, f"{path.name} announces no '# expect-error: CODE' line"
    got = reported.get(path.relative_to(ROOT).as_posix(), set())
    assert got == expected, f"{path.name}: expected {sorted(expected)}, mypy reported {sorted(got)}\n{output}"
