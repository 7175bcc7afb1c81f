"""The lint and type checks that CI runs really fail on a lint or type error."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def tool(name: str) -> str:
    path = BIN / name
    if not path.exists():
        pytest.skip(f"{name} is not installed in this environment")
    return str(path)


@pytest.fixture
def checked_tree(tmp_path: Path) -> Path:
    """A copy of the project configuration and core, to break on purpose."""
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    shutil.copytree(REPO / "blog", tmp_path / "blog", ignore=shutil.ignore_patterns("__pycache__"))
    return tmp_path


def test_ruff_rejects_an_unused_import(checked_tree: Path) -> None:
    target = checked_tree / "blog" / "slugs.py"
    target.write_text(target.read_text(encoding="utf-8") + "\nimport os\n", encoding="utf-8")
    result = subprocess.run(
        [tool("ruff"), "check", "blog/slugs.py"], cwd=checked_tree, capture_output=True, text=True
    )
    assert result.returncode == 1
    assert "F401" in result.stdout


def test_mypy_rejects_a_type_error(checked_tree: Path) -> None:
    target = checked_tree / "blog" / "slugs.py"
    broken = 'def broken() -> int:\n    return "not an int"\n'
    target.write_text(target.read_text(encoding="utf-8") + "\n\n" + broken, encoding="utf-8")
    result = subprocess.run(
        [tool("mypy"), "blog/slugs.py"], cwd=checked_tree, capture_output=True, text=True
    )
    assert result.returncode == 1
    assert "Incompatible return value type" in result.stdout
