"""Rate limits kept in the database, so they hold across processes and machines.

Each key counts hits in fixed windows of ``window`` seconds: one row per key and window,
incremented by a single upsert that returns the new count, so two processes hitting the
same key at the same instant cannot both see the last free slot. The decision uses a
sliding estimate: the previous window's hits, weighted by how much of it still lies within
the last ``window`` seconds, plus the current window's. Counting fixed windows alone would
let twice the limit through across a boundary, and a burst that straddles one would slip
past the limit depending on the clock.
"""

from __future__ import annotations

import time

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from blog.admin.models import RateCounter
from blog.models import db

#: Rows of windows older than this many windows are deleted now and then.
KEEP_WINDOWS = 2


class RateLimiter:
    """Allow at most ``limit`` hits per ``window`` seconds for each key, across processes."""

    def __init__(self, limit: int, window: float, scope: str = "") -> None:
        self.limit = limit
        self.window = window
        #: Keeps limiters that count the same kind of key (a client address) apart.
        self.scope = scope

    def _window(self, now: float) -> int:
        return int(now // self.window)

    def hit(self, key: str) -> float | None:
        """Record a hit; return ``None`` if allowed, else the seconds until one is allowed."""
        now = time.time()
        window = self._window(now)
        # Its own short transaction on its own connection: the request's session keeps
        # whatever it is doing, and the counter is committed even if the request fails.
        scoped = f"{self.scope}:{key}"[:200]
        with db.engine.begin() as connection:
            hits = _increment(connection, scoped, window)
            if hits == 1:
                # The first hit of a key in a new window clears every key's old windows,
                # which keeps the table to the keys active in the last few windows.
                stale = RateCounter.window < window - KEEP_WINDOWS
                connection.execute(delete(RateCounter).where(stale))
            previous = _hits(connection, scoped, window - 1)
        window_end = (window + 1) * self.window
        if hits > self.limit:
            return max(0.0, window_end - now)
        # The share of the previous window still inside the last ``window`` seconds.
        overlap = 1.0 - (now - window * self.window) / self.window
        if previous * overlap + hits <= self.limit:
            return None
        # Allowed again once enough of the previous window has slid out of view.
        allowed_overlap = (self.limit - hits) / previous
        return max(0.0, (overlap - allowed_overlap) * self.window)


def _increment(connection: Connection, key: str, window: int) -> int:
    dialect = connection.dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    upsert = (
        insert(RateCounter)
        .values(key=key, window=window, hits=1)
        .on_conflict_do_update(
            index_elements=[RateCounter.key, RateCounter.window],
            set_={"hits": RateCounter.hits + 1},
        )
        .returning(RateCounter.hits)
    )
    return int(connection.execute(upsert).scalar_one())


def _hits(connection: Connection, key: str, window: int) -> int:
    found = select(RateCounter.hits).where(RateCounter.key == key, RateCounter.window == window)
    return int(connection.execute(found).scalar() or 0)
