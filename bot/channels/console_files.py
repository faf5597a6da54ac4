"""Files the console channel receives (charts, exports): written under a directory per user."""

from __future__ import annotations

from pathlib import Path

from handlers.model import OutgoingFile


def write_file(file: OutgoingFile, *, directory: Path, handle: str) -> Path:
    """Write a file the bot sends into `directory` (per user) and return its path."""
    folder = directory / "".join(c if c.isalnum() or c in "-_." else "_" for c in handle)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / Path(file.name).name
    path.write_bytes(file.data)
    return path.resolve()
