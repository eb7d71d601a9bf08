"""A small on-disk cache for derived results (calibrations), keyed by scenario hash and version."""

from __future__ import annotations

import json
import os
from pathlib import Path

from . import __version__


def cache_dir() -> Path | None:
    """``$INCENTSIM_CACHE_DIR`` or ``~/.cache/incentsim/<version>``; None if not writable."""
    env = os.environ.get("INCENTSIM_CACHE_DIR")
    base = Path(env) if env else Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "incentsim"
    folder = base / __version__
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return folder


def load_json(name: str) -> dict | None:
    """A cached JSON object, or None when absent or unreadable."""
    folder = cache_dir()
    if folder is None or os.environ.get("INCENTSIM_NO_CACHE"):
        return None
    try:
        return json.loads((folder / name).read_text())
    except (OSError, ValueError):
        return None


def save_json(name: str, data: dict) -> None:
    """Store a JSON object (atomically; failures are ignored: the cache is only a speed-up)."""
    folder = cache_dir()
    if folder is None or os.environ.get("INCENTSIM_NO_CACHE"):
        return
    from .io import write_atomic

    try:
        write_atomic(folder / name, json.dumps(data))
    except OSError:
        pass


def source_hash(*relative_paths: str) -> str:
    """Short hash of package source files (so cached results follow code changes)."""
    import hashlib

    root = Path(__file__).parent
    h = hashlib.sha256(__version__.encode())
    for rel in relative_paths:
        try:
            h.update((root / rel).read_bytes())
        except OSError:
            pass
    return h.hexdigest()[:12]


def load_arrays(name: str) -> dict | None:
    """Arrays cached with :func:`save_arrays` (``None`` when absent or unreadable)."""
    import numpy as np

    folder = cache_dir()
    if folder is None or os.environ.get("INCENTSIM_NO_CACHE"):
        return None
    try:
        with np.load(folder / name, allow_pickle=False) as data:
            return {k: data[k] for k in data.files}
    except (OSError, ValueError):
        return None


def save_arrays(name: str, arrays: dict) -> None:
    """Store named arrays as one ``.npz`` (atomically; failures are ignored)."""
    import numpy as np

    folder = cache_dir()
    if folder is None or os.environ.get("INCENTSIM_NO_CACHE"):
        return
    from .io import with_atomic_file

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as fh:
            np.savez(fh, **arrays)

    try:
        with_atomic_file(folder / name, write)
    except OSError:
        pass
