"""Reading aids shown with a post: its last update, an "outdated" notice and its licence.

Templates call :func:`reading_aids` (a Jinja global); the values come from the post's
stored dates, its front matter (``license``) and the site configuration
(``OUTDATED_AFTER_DAYS``, ``POST_LICENSE``). Nothing here renders Markdown.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app

from blog.dates import to_local
from blog.models import utcnow

#: Creative Commons licences by their usual short name, so a post can say
#: ``license: CC BY-NC-SA 4.0`` and readers get a link to the deed.
CREATIVE_COMMONS = {
    "CC BY 4.0": "https://creativecommons.org/licenses/by/4.0/",
    "CC BY-SA 4.0": "https://creativecommons.org/licenses/by-sa/4.0/",
    "CC BY-NC 4.0": "https://creativecommons.org/licenses/by-nc/4.0/",
    "CC BY-NC-SA 4.0": "https://creativecommons.org/licenses/by-nc-sa/4.0/",
    "CC BY-ND 4.0": "https://creativecommons.org/licenses/by-nd/4.0/",
    "CC BY-NC-ND 4.0": "https://creativecommons.org/licenses/by-nc-nd/4.0/",
    "CC0 1.0": "https://creativecommons.org/publicdomain/zero/1.0/",
}
#: Values of ``license`` that switch the site default off for one post.
NO_LICENCE = frozenset({"", "none", "false", "no", "off"})
_SPACING = re.compile(r"[\s_]+")


@dataclass(frozen=True)
class Licence:
    name: str
    url: str | None


@dataclass(frozen=True)
class ReadingAids:
    #: The last update, when it falls on a later day (site time zone) than publication.
    updated_at: datetime | None
    #: ``OUTDATED_AFTER_DAYS`` when the post's last change is older than that, else 0.
    outdated_after_days: int
    licence: Licence | None


def licence_named(value: Any) -> Licence | None:
    """The licence a front-matter or configuration value names (``None``: no notice)."""
    if value is None or value is False:
        return None
    name = _SPACING.sub(" ", str(value)).strip()
    if name.lower() in NO_LICENCE:
        return None
    canonical = {key.upper(): key for key in CREATIVE_COMMONS}
    key = canonical.get(name.upper().replace("CC-", "CC "))
    if key is not None:
        return Licence(key, CREATIVE_COMMONS[key])
    return Licence(name, None)


def reading_aids(post: Any, now: datetime | None = None) -> ReadingAids:
    """What the post page shows besides the text; ``now`` is naive UTC (tests pass one)."""
    config = current_app.config
    now = now or utcnow()
    published = post.published_at
    updated = post.updated_at
    if updated is not None and post.created_at is not None and updated == post.created_at:
        # Never changed since it was saved first (an import without ``updated`` is stamped
        # with the time of the import): the publication date is its last change.
        updated = None
    shown_update = None
    later_day = (
        published is not None
        and updated is not None
        and to_local(updated).date() > to_local(published).date()
    )
    if later_day:
        shown_update = updated
    changes = [d for d in (published, updated) if d is not None]
    threshold = int(config["OUTDATED_AFTER_DAYS"])
    outdated = threshold > 0 and bool(changes) and now - max(changes) > timedelta(days=threshold)
    meta = post.meta or {}
    licence = licence_named(meta["license"] if "license" in meta else config["POST_LICENSE"])
    return ReadingAids(shown_update, threshold if outdated else 0, licence)
