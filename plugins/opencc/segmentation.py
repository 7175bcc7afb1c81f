"""The phrases OpenCC segments text into, so a group's shorter phrase does not split them.

OpenCC first cuts text into the longest phrases of its segmentation dictionaries, then
converts each. A group phrase found inside a longer OpenCC phrase (``内存`` inside
``海内存知己``, ``互联网`` inside ``互联网络``) must leave that phrase to OpenCC, as it would
in MediaWiki, where the groups and the phrase table are one dictionary matched longest
first. The keys are read from the dictionaries the installed OpenCC ships, with the
``opencc_dict`` tool that comes with it; without the tool, no phrase is shielded.
"""

from __future__ import annotations

import logging
import subprocess
import tempfile
from functools import lru_cache
from pathlib import Path

import opencc

from .variants import HANS, HANT

logger = logging.getLogger("blog_plugins.opencc")

#: The segmentation dictionaries of the configurations used for each source script
#: (``s2t``, ``s2twp``, ``s2hk`` segment with the first two; ``t2s`` with the third).
SEGMENTATION_DICTS = {
    HANS: ("STPhrases", "STPhrases_GeneratedFromRegionalPhrases"),
    HANT: ("TSPhrases",),
}


def _library() -> Path:
    return Path(opencc.__file__).parent / "clib"


@lru_cache(maxsize=2)
def segmentation_phrases(script: str) -> frozenset[str]:
    """Return the phrases OpenCC segments text of ``script`` into (empty if unreadable)."""
    tool = _library() / "bin" / "opencc_dict"
    phrases: set[str] = set()
    with tempfile.TemporaryDirectory() as folder:
        for name in SEGMENTATION_DICTS[script]:
            source = _library() / "share" / "opencc" / f"{name}.ocd2"
            text = Path(folder) / f"{name}.txt"
            try:
                subprocess.run(  # noqa: S603  # the tool and files OpenCC installed
                    [str(tool), "-i", str(source), "-o", str(text), "-f", "ocd2", "-t", "text"],
                    check=True,
                    capture_output=True,
                    timeout=60,
                )
                lines = text.read_text(encoding="utf-8").splitlines()
            except (OSError, subprocess.SubprocessError, UnicodeDecodeError) as error:
                logger.warning("cannot read OpenCC's %s phrases (%s); none shielded", name, error)
                continue
            phrases.update(line.split("\t", 1)[0] for line in lines if "\t" in line)
    return frozenset(phrases)
