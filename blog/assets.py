"""Static files of themes and plugins at content-hashed URLs, served by whitenoise.

Every file gets the URL ``/static/<namespace>/<name>.<hash>.<ext>``, so it can be cached
for a year and changes URL whenever its bytes change. whitenoise answers these before
Flask routing, like a static file server.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from typing import Any

from whitenoise import WhiteNoise

STATIC_PREFIX = "/static/"


def _hashed_name(path: PurePosixPath, digest: str) -> str:
    return f"{path.stem}.{digest}{path.suffix}" if path.suffix else f"{path.name}.{digest}"


class Assets:
    """The hashed-URL map of every registered static folder."""

    def __init__(self) -> None:
        self.urls: dict[tuple[str, str], str] = {}
        self.files: dict[str, Path] = {}

    def register(self, namespace: str, folder: Path) -> None:
        """Hash every file under ``folder``; later registrations do not replace earlier ones."""
        for root, _dirs, names in os.walk(folder):
            for name in sorted(names):
                full = Path(root) / name
                relative = PurePosixPath(full.relative_to(folder).as_posix())
                key = (namespace, str(relative))
                if key in self.urls:
                    continue
                digest = hashlib.sha256(full.read_bytes()).hexdigest()[:12]
                hashed = relative.with_name(_hashed_name(relative, digest))
                url = f"{STATIC_PREFIX}{namespace}/{hashed}"
                self.urls[key] = url
                self.files[url] = full

    def add_file(self, namespace: str, name: str, full: Path) -> str:
        """Register one file from outside the static folders (a library installed by npm)
        as ``name`` in ``namespace``; return its hashed URL."""
        key = (namespace, name)
        if key not in self.urls:
            digest = hashlib.sha256(full.read_bytes()).hexdigest()[:12]
            hashed = _hashed_name(PurePosixPath(name), digest)
            url = f"{STATIC_PREFIX}{namespace}/{hashed}"
            self.urls[key] = url
            self.files[url] = full
        return self.urls[key]

    def url(self, namespace: str, path: str) -> str:
        """Return the hashed URL of ``path`` in ``namespace``; unknown files raise KeyError."""
        try:
            return self.urls[(namespace, path)]
        except KeyError:
            raise KeyError(f"no static file {path!r} in {namespace!r}") from None

    def wrap(self, wsgi_app: Any, headers: Mapping[str, str]) -> WhiteNoise:
        """Return a whitenoise app serving exactly the registered files, immutable.

        ``headers`` go on every file response: whitenoise answers before Flask, so the
        app's own response hooks (security headers) never see these responses.
        """

        def add_headers(file_headers: Any, _path: str, _url: str) -> None:
            for name, value in headers.items():
                file_headers[name] = value

        server = WhiteNoise(
            wsgi_app,
            autorefresh=False,
            immutable_file_test=lambda _p, _u: True,
            add_headers_function=add_headers,
        )
        for url, path in self.files.items():
            server.add_file_to_dictionary(url, str(path))
        return server
