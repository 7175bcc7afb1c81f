"""Load and soak: a real waitress process under mixed traffic, on SQLite and PostgreSQL.

8 client threads send 90% reads over more than 1,000 public URLs (every variant prefix)
and 10% saves, publishes and trashes through the JSON API, then every acknowledged save
is audited in the database and on the public pages (``bench/soak.py`` does the work);
on PostgreSQL also with two servers over two instance folders sharing the database.
CI runs ``BLOG_TEST_SOAK_SECONDS`` seconds of traffic (default 20) per database; run
``python -m bench.soak`` for the full 60 s.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import POSTGRES_HINT, POSTGRES_URL, reset_postgres

from bench.soak import SoakReport, run_soak

SOAK_SECONDS = float(os.environ.get("BLOG_TEST_SOAK_SECONDS", "20"))

pytestmark = pytest.mark.slow


@pytest.fixture(
    scope="module",
    params=[
        "sqlite",
        pytest.param("postgres", marks=pytest.mark.postgres),
        # Two servers over two instance folders sharing the database: two machines.
        pytest.param("postgres-two-machines", marks=pytest.mark.postgres),
    ],
)
def soak(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SoakReport]:
    database_url = ""
    if request.param.startswith("postgres"):
        if not POSTGRES_URL:
            pytest.skip(POSTGRES_HINT)
        reset_postgres(POSTGRES_URL)
        database_url = POSTGRES_URL
    folder: Path = tmp_path_factory.mktemp(f"soak-{request.param}")
    machines = 2 if request.param.endswith("two-machines") else 1
    report = run_soak(folder, SOAK_SECONDS, 8, database_url, machines)
    print(f"\nsoak on {request.param}: {report.summary()}")
    yield report


def test_soak_reads_cover_over_a_thousand_urls(soak: SoakReport) -> None:
    assert soak.urls >= 1000
    assert soak.reads > 0


def test_soak_never_answers_5xx(soak: SoakReport) -> None:
    assert soak.server_errors == []
    assert soak.transport_errors == []


def test_soak_server_logs_no_error(soak: SoakReport) -> None:
    assert soak.logged_errors == []


def test_soak_requests_get_only_the_expected_statuses(soak: SoakReport) -> None:
    assert soak.unexpected == []


def test_every_acknowledged_save_is_stored_with_its_revision(soak: SoakReport) -> None:
    assert soak.writes_acknowledged > 0
    assert soak.lost_writes == []
    assert soak.writes_found == soak.writes_acknowledged


def test_no_page_is_older_than_the_invalidation_window(soak: SoakReport) -> None:
    assert soak.stale_checks > 0
    assert soak.stale_reads == []


def test_colliding_edits_have_one_winner_per_version_and_lose_nothing(soak: SoakReport) -> None:
    assert soak.collision_statuses[200] > 0
    assert soak.collision_statuses[409] > 0  # the collisions really happened
    assert soak.collision_doubled == []
    assert not [lost for lost in soak.lost_writes if lost.startswith("shared")]


def test_soak_comments_arrive_and_none_is_lost(soak: SoakReport) -> None:
    assert soak.operations["comment"] > 0
    assert soak.comments_acknowledged
    assert [lost for lost in soak.lost_writes if lost.startswith("comment")] == []
