"""Production metrics in Prometheus' text format at ``/metrics``, behind a token.

What is counted: requests by status, page-cache hits and misses, the time to render a page
the cache did not hold, time spent in database statements, comment posts and admin logins
by outcome.
The counting happens in one WSGI wrapper outside everything else, so a page answered from
the cache is counted like any other.

With ``blog serve --workers N`` each worker is its own process: prometheus_client's
multiprocess mode (``PROMETHEUS_MULTIPROC_DIR``, set by ``blog serve`` before any worker
starts) keeps each process's values in a shared folder and ``/metrics`` sums them, so a
scrape that lands on any worker sees the whole server.

``/metrics`` answers 404 unless ``METRICS_TOKEN`` is set and the request carries it as
``Authorization: Bearer <token>``: to anyone else the endpoint does not exist.
"""

from __future__ import annotations

import hmac
import json
import logging
import os
import re
import time
from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector
from sqlalchemy import event

from blog.models import db

access_log = logging.getLogger("blog.access")

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8"
MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"


class Metrics:
    """The counters of one application, in a registry of its own."""

    def __init__(self) -> None:
        # A registry per app: tests and tools create several apps in one process.
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "blog_http_requests",
            "HTTP requests answered, by status code.",
            ["status"],
            registry=self.registry,
        )
        self.cache_lookups = Counter(
            "blog_page_cache_lookups",
            "Page-cache lookups of cacheable requests, by result (hit or miss).",
            ["result"],
            registry=self.registry,
        )
        self.render_seconds = Histogram(
            "blog_page_render_seconds",
            "Time to render a cacheable page the cache did not hold.",
            registry=self.registry,
        )
        self.database_seconds = Counter(
            "blog_database_seconds",
            "Time spent executing database statements.",
            registry=self.registry,
        )
        self.database_statements = Counter(
            "blog_database_statements",
            "Database statements executed.",
            registry=self.registry,
        )
        self.comments = Counter(
            "blog_comments_posted",
            "Comment form posts, by outcome (accepted, rate_limited, refused).",
            ["outcome"],
            registry=self.registry,
        )
        self.logins = Counter(
            "blog_admin_logins",
            "Admin login attempts, by outcome (success, failure, locked).",
            ["outcome"],
            registry=self.registry,
        )

    def cache_lookup(self, result: str, render_seconds: float | None = None) -> None:
        """Called by the page cache for each lookup; a miss also reports its render time."""
        self.cache_lookups.labels(result=result).inc()
        if render_seconds is not None:
            self.render_seconds.observe(render_seconds)

    def exposition(self) -> bytes:
        """The current values in Prometheus' text format (summed over workers if any)."""
        if os.environ.get(MULTIPROCESS_ENV):
            merged = CollectorRegistry()
            MultiProcessCollector(merged)
            return generate_latest(merged)
        return generate_latest(self.registry)


#: A reader's comment form post: ``/posts/<slug>/comments``, under any variant prefix.
COMMENT_POST = re.compile(r"(?:/[a-z]{2}-[a-z]+)?/posts/[^/]+/comments")


def _comment_outcome(status: int) -> str:
    if status < 400:
        return "accepted"
    return "rate_limited" if status == 429 else "refused"


def _login_outcome(status: int) -> str | None:
    if status in (301, 302, 303):
        return "success"
    if status == 401:
        return "failure"
    if status == 429:
        return "locked"
    return None


class MetricsMiddleware:
    """Counts every response, optionally logs it as JSON, and serves ``/metrics``."""

    def __init__(self, app: Flask, downstream: WSGIApp, metrics: Metrics) -> None:
        self.downstream = downstream
        self.metrics = metrics
        self.token = str(app.config["METRICS_TOKEN"])
        self.json_logs = bool(app.config["JSON_LOGS"])

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        path = environ.get("PATH_INFO", "")
        if path == "/metrics":
            return self._serve_metrics(environ, start_response)
        started = time.perf_counter()
        seen: dict[str, int] = {}

        def counting_start_response(status: str, headers: Any, exc_info: Any = None) -> Any:
            seen["status"] = int(status.split(" ", 1)[0])
            return start_response(status, headers, exc_info)

        result = self.downstream(environ, counting_start_response)
        status = seen.get("status", 500)
        self.metrics.requests.labels(status=str(status)).inc()
        if environ.get("REQUEST_METHOD") == "POST":
            if path == "/admin/login":
                outcome = _login_outcome(status)
                if outcome:
                    self.metrics.logins.labels(outcome=outcome).inc()
            elif COMMENT_POST.fullmatch(path):
                self.metrics.comments.labels(outcome=_comment_outcome(status)).inc()
        if self.json_logs:
            access_log.info(
                json.dumps(
                    {
                        "method": environ.get("REQUEST_METHOD"),
                        "path": path,
                        "query": environ.get("QUERY_STRING", ""),
                        "status": status,
                        "ms": round((time.perf_counter() - started) * 1000, 2),
                        "client": environ.get("REMOTE_ADDR"),
                        "pid": os.getpid(),
                    },
                    ensure_ascii=False,
                )
            )
        return result

    def _serve_metrics(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        header = environ.get("HTTP_AUTHORIZATION", "")
        scheme, _, secret = header.partition(" ")
        authorised = (
            bool(self.token)
            and scheme.lower() == "bearer"
            and hmac.compare_digest(secret.strip().encode(), self.token.encode())
        )
        if not authorised:
            body = b"Not Found\n"
            start_response(
                "404 Not Found",
                [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body)))],
            )
            return [body]
        body = self.metrics.exposition()
        start_response(
            "200 OK",
            [
                ("Content-Type", PROMETHEUS_TEXT),
                ("Content-Length", str(len(body))),
                ("Cache-Control", "no-store"),
            ],
        )
        return [body]


def install_metrics(app: Flask, wsgi_app: WSGIApp) -> WSGIApp:
    """Count requests and database time for ``app``; return the wrapped WSGI stack."""
    metrics = Metrics()
    app.extensions["blog.metrics"] = metrics
    with app.app_context():
        engine = db.engine

    def before(
        conn: Any, _cursor: Any, _statement: Any, _params: Any, _ctx: Any, _many: Any
    ) -> None:
        conn.info.setdefault("blog_query_started", []).append(time.perf_counter())

    def after(
        conn: Any, _cursor: Any, _statement: Any, _params: Any, _ctx: Any, _many: Any
    ) -> None:
        started = conn.info.get("blog_query_started")
        if started:
            metrics.database_seconds.inc(time.perf_counter() - started.pop())
            metrics.database_statements.inc()

    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    if app.config["JSON_LOGS"] and not access_log.handlers:
        # The lines must reach the process's output when served; logging's default
        # (warnings only, on the root logger) would drop them.
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(message)s"))
        access_log.addHandler(handler)
        access_log.setLevel(logging.INFO)
    cache = app.extensions.get("blog.page_cache")
    if cache is not None:
        cache.observe = metrics.cache_lookup
    return MetricsMiddleware(app, wsgi_app, metrics)
