"""``blog serve`` as a real process, ready when it says so.

A test that polls a guessed port until it answers fails whenever start-up (imports, plugin
set-up, re-rendering stale posts) outlasts the polling budget, as it does on a loaded CI
machine, and a port chosen by binding and closing a socket can be taken by another process
before the server binds it. Here the server picks its own port (``--port 0``) and the test
waits for the ``Serving … on http://host:port/`` line, which is printed once the socket
listens; the deadline only bounds a server that never gets there.
"""

from __future__ import annotations

import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

#: Start-up at load 9 on 2 cores took up to 13 s; this bounds a server that hangs.
READY_SECONDS = 180.0
#: A first request may render cold pages (render workers start) on a loaded machine.
ANSWER_SECONDS = 60.0
#: A graceful stop drains requests for up to 30 s (blog.workers.DRAIN_SECONDS).
STOP_SECONDS = 60.0

SERVING = re.compile(r"^Serving .* on (http://[^/\s]+)/")


@dataclass
class Server:
    """A running ``blog serve``: its base URL, its process and every line it printed."""

    base: str
    process: subprocess.Popen[str]
    lines: list[str] = field(default_factory=list)

    def output(self) -> str:
        return "".join(self.lines)


def _stop(process: subprocess.Popen[str]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
    process.wait(timeout=STOP_SECONDS)


@contextmanager
def blog_serve(instance: Path, *options: str) -> Iterator[Server]:
    """Run ``blog --instance INSTANCE serve --port 0 OPTIONS``; yield it once it listens.

    On leaving, the server gets SIGTERM (then SIGKILL if it does not stop) and its output
    is fully read, so ``server.output()`` afterwards holds everything it printed.
    """
    command = [sys.executable, "-m", "blog.cli", "--instance", str(instance), "serve"]
    process = subprocess.Popen(
        [*command, "--port", "0", *options],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    stdout = process.stdout
    lines: list[str] = []
    ready = threading.Event()
    found: list[str] = []

    def read() -> None:
        # Keep draining after the ready line too, so a chatty server never blocks on a full pipe.
        for line in stdout:
            lines.append(line)
            match = SERVING.match(line)
            if match and not found:
                found.append(match.group(1))
                ready.set()
        ready.set()  # the process closed its output: it exited

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        if not ready.wait(timeout=READY_SECONDS):
            raise AssertionError(
                f"blog serve printed no 'Serving' line in {READY_SECONDS:.0f} s:\n" + "".join(lines)
            )
        if not found:
            process.wait(timeout=STOP_SECONDS)
            raise AssertionError(
                f"blog serve exited ({process.returncode}) before listening:\n" + "".join(lines)
            )
        server = Server(found[0], process, lines)
        yield server
    finally:
        _stop(process)
        reader.join(timeout=STOP_SECONDS)
        stdout.close()
