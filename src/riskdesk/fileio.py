"""Small file-system helpers shared by the CLI and the stores that write files atomically."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["fsync_dir"]


def fsync_dir(directory: Path) -> None:
    """Fsync ``directory`` so a rename inside it survives a crash (best effort).

    Platforms without directory handles and filesystems that refuse fsync on a directory are
    skipped silently: the rename itself is still atomic there.
    """
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory handles
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover - some filesystems refuse fsync on a directory
        pass
    finally:
        os.close(fd)
