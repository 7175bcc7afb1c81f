"""What an import found in each file: constructs converted, kept or unknown, images, files."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

CONVERTED, KEPT, UNKNOWN = "converted", "kept", "unknown"


@dataclass
class FileReport:
    """One source file's account; ``notes`` are ``line N: message`` strings for the author."""

    path: str
    constructs: Counter[tuple[str, str]] = field(default_factory=Counter)
    notes: list[str] = field(default_factory=list)
    images_found: int = 0
    images_imported: int = 0
    images_missing: int = 0
    #: Local files linked that are not images (PDF, ZIP …), imported as downloads.
    files_found: int = 0
    files_imported: int = 0
    files_missing: int = 0

    def construct(self, name: str, outcome: str, line: int | None = None, why: str = "") -> None:
        self.constructs[(name, outcome)] += 1
        if outcome != CONVERTED or why:
            self.note(line, f"{name}: {outcome}" + (f" ({why})" if why else ""))

    def note(self, line: int | None, message: str) -> None:
        self.notes.append(f"line {line}: {message}" if line else message)

    def count(self, outcome: str) -> int:
        return sum(n for (_name, kind), n in self.constructs.items() if kind == outcome)

    def lines(self) -> list[str]:
        """The per-file report as printed by ``blog import`` (and ``--dry-run``)."""
        parts = []
        for outcome in (CONVERTED, KEPT, UNKNOWN):
            names = sorted(
                (name, n) for (name, kind), n in self.constructs.items() if kind == outcome
            )
            if names:
                parts.append(f"{outcome} " + ", ".join(f"{name}×{n}" for name, n in names))
        if self.images_found:
            parts.append(
                f"images {self.images_found} found, {self.images_imported} imported, "
                f"{self.images_missing} missing"
            )
        if self.files_found:
            parts.append(
                f"files {self.files_found} found, {self.files_imported} imported, "
                f"{self.files_missing} missing"
            )
        head = f"{self.path}: " + ("; ".join(parts) if parts else "nothing to convert")
        return [head, *(f"    {note}" for note in self.notes)]


def line_of(text: str, position: int, first_line: int = 1) -> int:
    """The 1-based line of ``position`` in ``text``, whose first line is ``first_line``."""
    return text.count("\n", 0, position) + first_line
