"""The documentation keeps up with the code: every hook documented, the tutorial current."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

from blog import api, hookspecs

REPO = Path(__file__).resolve().parents[1]
PLUGINS_DOC = REPO / "docs" / "plugins.md"
EXAMPLE = REPO / "examples" / "blog-reading-badge"
HOOKS = sorted(name for name in vars(hookspecs) if name.startswith("blog_"))
COMBINING_WORDS = ("concatenated", "merged", "chain", "first non-", "joined", "ignored")


def reference_sections() -> dict[str, str]:
    """``{hook name: its section's text}`` for every ``### blog_...`` heading."""
    text = PLUGINS_DOC.read_text(encoding="utf-8")
    parts = re.split(r"^### (blog_\w+)\s*$", text, flags=re.MULTILINE)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def test_every_hook_has_a_reference_entry() -> None:
    assert [hook for hook in HOOKS if hook not in reference_sections()] == []


def test_reference_documents_no_hook_that_does_not_exist() -> None:
    assert [name for name in reference_sections() if name not in HOOKS] == []


@pytest.mark.parametrize("hook", HOOKS)
def test_reference_entry_gives_signature_timing_combining_and_example(hook: str) -> None:
    section = reference_sections().get(hook, "")
    arguments = ", ".join(inspect.signature(getattr(hookspecs, hook)).parameters)
    assert f"**Signature:** `{hook}({arguments})" in section
    assert "**Runs:**" in section
    assert "**Results:**" in section
    assert re.search(rf"```python\n.*def {hook}\(", section, flags=re.DOTALL)


@pytest.mark.parametrize("hook", HOOKS)
def test_hookspec_docstring_says_when_it_runs_and_how_results_combine(hook: str) -> None:
    doc = " ".join((inspect.getdoc(getattr(hookspecs, hook)) or "").split())
    assert re.search(r"\bRuns?\b", doc, flags=re.IGNORECASE), "when it runs"
    assert any(word in doc for word in COMBINING_WORDS), "how results combine"


def test_tutorial_shows_the_example_package_files_verbatim() -> None:
    text = PLUGINS_DOC.read_text(encoding="utf-8")
    shown = re.findall(r"<!-- example: (\S+) -->\n```[^\n]*\n(.*?)```", text, flags=re.DOTALL)
    assert {path for path, _code in shown} == {
        "pyproject.toml",
        "blog_reading_badge/__init__.py",
        "blog_reading_badge/static/reading-badge.css",
        "blog_reading_badge/templates/reading_badge.html",
    }
    for path, code in shown:
        assert code == (EXAMPLE / path).read_text(encoding="utf-8"), path


def test_plugin_guide_names_everything_blog_api_exports() -> None:
    text = PLUGINS_DOC.read_text(encoding="utf-8")
    assert [name for name in api.__all__ if f"`{name}" not in text] == []
