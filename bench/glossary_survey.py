"""Which words a glossary changes on real posts: ``python -m bench.glossary_survey [CORPUS]``.

For every post of the corpus (default ``../shared/external/corpus``, never part of the
project) the prose (front matter, code, math and URLs removed) is converted into zh-tw and
zh-hk by OpenCC alone and with the plugin's default glossary, and every word the glossary
changes is listed with its count and one context, for review. ``--opencc`` lists instead
the Taiwan phrases OpenCC itself substitutes (s2twp against s2t), where a glossary rule
may be needed.
"""

from __future__ import annotations

import argparse
import difflib
import re
from collections import Counter
from pathlib import Path

from blog_plugins.opencc import DEFAULT_GLOSSARY
from blog_plugins.opencc.converters import convert_text
from blog_plugins.opencc.htmlconvert import Target, convert_document
from blog_plugins.opencc.rules import load_glossary
from blog_plugins.opencc.variants import HANS
from blog_plugins.opencc.vocabulary import Vocabulary

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "external" / "corpus"
CONFIGS = {"zh-tw": "s2twp", "zh-hk": "s2hk"}
_NOT_PROSE = re.compile(
    r"\A---\n.*?\n---\n|```.*?```|\$\$.*?\$\$|\$[^$\n]*\$|`[^`\n]*`|\{\{<.*?>\}\}|https?://\S+",
    re.DOTALL,
)


def prose(path: Path) -> list[str]:
    text = _NOT_PROSE.sub("\n", path.read_text(encoding="utf-8"))
    return [p.strip() for p in text.split("\n") if re.search("[\u4e00-\u9fff]", p)]


def changes(before: str, after: str, width: int = 8) -> list[tuple[str, str, str]]:
    """Return (old, new, context) for each span where ``after`` differs from ``before``."""
    found = []
    matcher = difflib.SequenceMatcher(None, before, after, autojunk=False)
    for op, a1, a2, b1, b2 in matcher.get_opcodes():
        if op != "equal":
            left, right = before[max(0, a1 - width) : a1], before[a2 : a2 + width]
            context = f"{left}[{after[b1:b2]}]{right}"
            found.append((before[a1:a2], after[b1:b2], context))
    return found


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("corpus", nargs="?", type=Path, default=CORPUS)
    parser.add_argument("--opencc", action="store_true", help="list OpenCC's own phrase changes")
    parser.add_argument("--top", type=int, default=60)
    args = parser.parse_args()
    paragraphs = [p for path in sorted(args.corpus.glob("*.md")) for p in prose(path)]
    glossary = tuple(load_glossary(DEFAULT_GLOSSARY))
    print(f"{len(paragraphs)} paragraphs, {sum(map(len, paragraphs))} characters")
    for code, config in CONFIGS.items():
        counts: Counter[tuple[str, str]] = Counter()
        contexts: dict[tuple[str, str], str] = {}
        for paragraph in paragraphs:
            if args.opencc:
                before, after = convert_text("s2t", paragraph), convert_text(config, paragraph)
            else:
                html = f"<p>{paragraph}</p>"
                plain = Target(code, code, {HANS: config}, vocabulary=Vocabulary())
                ruled = Target(code, code, {HANS: config}, vocabulary=Vocabulary(glossary))
                before = convert_document(html, plain)
                after = convert_document(html, ruled)
            for old, new, context in changes(before, after):
                counts[(old, new)] += 1
                contexts.setdefault((old, new), context)
        total = sum(counts.values())
        print(f"\n{code}: {total} changes, {len(counts)} distinct")
        for (old, new), count in counts.most_common(args.top):
            print(f"  {count:4d}  {old} → {new}   {contexts[(old, new)]}")


if __name__ == "__main__":
    main()
