"""A non-editable install finds the built-in plugins and themes; no top-level clutter."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_non_editable_install_serves_with_builtin_plugins_and_themes(tmp_path: Path) -> None:
    # Dependencies come from the test environment; the engine itself is built as a wheel and
    # installed into its own folder, which goes first on sys.path.
    python = sys.executable
    install = subprocess.run(
        [python, "-m", "pip", "install", "-v", "--no-deps", "--target", str(tmp_path / "site"),
         str(REPO)],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert install.returncode == 0, install.stderr
    # The build warns about nothing (undeclared package data, deprecated metadata...).
    warnings = re.findall(r"\w+Warning: .*", install.stdout + install.stderr)
    assert warnings == []
    site = tmp_path / "site"
    top_level = {p.name for p in site.iterdir()}
    assert {"blog", "blog_plugins", "blog_themes"} <= top_level
    assert not {"plugins", "themes", "tests"} & top_level
    assert (site / "blog_themes" / "transmission" / "theme.toml").is_file()
    assert (site / "blog" / "demo").is_dir()
    script = (
        "import sys; sys.path.insert(0, sys.argv[1]);"
        "from blog.cli import main; sys.argv = ['blog'] + sys.argv[2:]; main()"
    )
    instance = tmp_path / "instance"
    env = {"PATH": "/usr/bin:/bin", "BLOG_STRICT_PLUGINS": "true"}
    init = subprocess.run(
        [python, "-c", script, str(site), "--instance", str(instance), "init", "--demo"],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300,
    )  # fmt: skip
    assert init.returncode == 0, init.stderr
    assert "imported 15" in init.stdout
    listing = subprocess.run(
        [python, "-c", script, str(site), "--instance", str(instance), "plugins"],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300,
    )  # fmt: skip
    rows = {line.split()[0]: line for line in listing.stdout.splitlines()}
    for name in ("math", "code", "excerpt", "typography", "opencc"):
        assert " enabled " in rows[name], listing.stdout
        assert str(site) in rows[name] or "blog-engine" in rows[name]
