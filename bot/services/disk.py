"""Free disk space where the bot writes: the SQLite database (files are kept in it too) and
the bot's own folder (its delivery keys). A full disk stops every relative mid-answer, so
`aigaq doctor` and the staff alerts warn before it fills."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

from bot.settings import Settings

MB = 1024 * 1024


@dataclass(frozen=True)
class FreeSpace:
    """One disk: a folder on it the bot writes to, and its free megabytes."""

    folder: Path
    free_mb: int


def watched_folders(settings: Settings) -> list[Path]:
    """The folders the bot writes to. PostgreSQL's disk is on its own host, not seen here."""
    folders = []
    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        folders.append(Path(str(url.database)).parent)
    folders.append(settings.delivery_folder())
    return folders


def _existing(folder: Path) -> Path:
    """The folder, or its nearest parent that exists (not made yet: first start)."""
    path = folder.absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def free_space(settings: Settings) -> list[FreeSpace]:
    """Each disk the bot writes to once, with its free space."""
    seen: set[int] = set()
    found = []
    for folder in watched_folders(settings):
        path = _existing(folder)
        try:
            device = os.stat(path).st_dev
            free = shutil.disk_usage(path).free
        except OSError:
            continue
        if device not in seen:
            seen.add(device)
            found.append(FreeSpace(folder, free // MB))
    return found


def low_disks(settings: Settings) -> list[FreeSpace]:
    """The disks with less free space than AIGAQ_MIN_FREE_DISK_MB (none when it is 0)."""
    if not settings.min_free_disk_mb:
        return []
    return [disk for disk in free_space(settings) if disk.free_mb < settings.min_free_disk_mb]


def uses_postgres(settings: Settings) -> bool:
    return make_url(settings.database_url).get_backend_name() == "postgresql"
