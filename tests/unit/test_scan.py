"""naja_atra.utils.scan: which modules are found, named and imported."""
from __future__ import annotations

import os
import sys
import types
import uuid
from pathlib import Path
from typing import Iterator

import pytest

from naja_atra.utils.scan import default_project_dir, find_modules, scan

MARK = "IMPORTED = True\n"


@pytest.fixture
def project(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """A project folder with a uniquely named package tree; sys.modules/sys.path restored after."""
    pkg = f"scanfix_{uuid.uuid4().hex[:10]}"
    files = {
        f"{pkg}/__init__.py": MARK,
        f"{pkg}/user_controller.py": MARK,
        f"{pkg}/helpers.py": MARK,
        f"{pkg}/sub/__init__.py": MARK,
        f"{pkg}/sub/order_controller.py": MARK,
        f"{pkg}/nsub/item_controller.py": MARK,  # a namespace package: no __init__.py
        f"{pkg}/__pycache__/cached_controller.py": "raise RuntimeError('never imported')\n",
        f"{pkg}/.hidden/secret_controller.py": "raise RuntimeError('never imported')\n",
        f"{pkg}/not-a-package/x_controller.py": "raise RuntimeError('never imported')\n",
        f"{pkg}/notes.txt": "not python",
        f"{pkg}/script.pyw": "raise RuntimeError('never imported')\n",
        f"{pkg}/bad-name.py": "raise RuntimeError('never imported')\n",
        "top_controller_" + pkg + ".py": MARK,
    }
    for rel, text in files.items():
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    path_before = list(sys.path)
    yield tmp_path, pkg
    sys.path[:] = path_before
    for name in [m for m in sys.modules if pkg in m]:
        del sys.modules[name]


def test_names_follow_the_folder_tree(project: tuple[Path, str]) -> None:
    root, pkg = project
    assert find_modules(pkg, project_dir=str(root)) == sorted([
        pkg,
        f"{pkg}.helpers",
        f"{pkg}.nsub.item_controller",
        f"{pkg}.sub",
        f"{pkg}.sub.order_controller",
        f"{pkg}.user_controller",
    ])


def test_scan_imports_matching_modules_only(project: tuple[Path, str]) -> None:
    root, pkg = project
    imported = scan(pkg, r".*controller.*", str(root))
    assert imported == [f"{pkg}.nsub.item_controller", f"{pkg}.sub.order_controller", f"{pkg}.user_controller"]
    for name in imported:
        assert getattr(sys.modules[name], "IMPORTED", False)
    assert f"{pkg}.helpers" not in sys.modules
    assert str(root) in sys.path


def test_regex_is_matched_from_the_start_of_the_dotted_name(project: tuple[Path, str]) -> None:
    root, pkg = project
    assert scan(pkg, r"user", str(root)) == []
    assert scan(pkg, rf"{pkg}\.sub", str(root)) == [f"{pkg}.sub", f"{pkg}.sub.order_controller"]


@pytest.mark.parametrize("spelling", ["{pkg}/sub", "/{pkg}/sub/", "{pkg}\\sub", "./{pkg}/sub"])
def test_base_dir_spellings(project: tuple[Path, str], spelling: str) -> None:
    root, pkg = project
    assert find_modules(spelling.format(pkg=pkg), project_dir=str(root)) == [
        f"{pkg}.sub", f"{pkg}.sub.order_controller"]


def test_empty_base_dir_scans_the_whole_project(project: tuple[Path, str]) -> None:
    root, pkg = project
    names = find_modules(project_dir=str(root))
    assert f"top_controller_{pkg}" in names and f"{pkg}.sub" in names
    assert all("cached" not in n and "secret" not in n and "x_controller" not in n for n in names)


def test_import_error_names_the_module(project: tuple[Path, str]) -> None:
    root, pkg = project
    (root / pkg / "broken_controller.py").write_text("import does_not_exist_anywhere_42\n")
    with pytest.raises(ImportError, match=rf"{pkg}\.broken_controller") as info:
        scan(pkg, r".*broken.*", str(root))
    assert isinstance(info.value.__cause__, ModuleNotFoundError)
    assert info.value.name == f"{pkg}.broken_controller"

    (root / pkg / "syntax_controller.py").write_text("def (:\n")
    with pytest.raises(ImportError) as info2:
        scan(pkg, r".*syntax.*", str(root))
    assert isinstance(info2.value.__cause__, SyntaxError)


def test_missing_or_escaping_base_dir_fails_loudly(project: tuple[Path, str]) -> None:
    root, _ = project
    with pytest.raises(FileNotFoundError):
        scan("no_such_folder", project_dir=str(root))
    with pytest.raises(ValueError):
        scan("../elsewhere", project_dir=str(root))


def test_default_project_dir_is_the_main_scripts_folder(
        project: tuple[Path, str], monkeypatch: pytest.MonkeyPatch) -> None:
    root, pkg = project
    main = types.ModuleType("__main__")
    main.__file__ = str(root / f"top_controller_{pkg}.py")  # the running script itself
    monkeypatch.setitem(sys.modules, "__main__", main)
    assert default_project_dir() == str(root)
    names = scan(regx=r"top_controller")
    # the running script is not imported a second time under its module name
    assert names == []
    assert scan(pkg, r".*user.*") == [f"{pkg}.user_controller"]


def test_default_project_dir_without_main_file_is_cwd(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "__main__", types.ModuleType("__main__"))
    assert default_project_dir() == os.getcwd()
