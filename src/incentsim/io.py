"""Small file helpers: atomic writes (no partial output files, ever)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path


def write_atomic(path: str | Path, data: str | bytes) -> None:
    """Write ``data`` to ``path`` via a temporary file in the same folder and a rename.

    A reader sees either the old file or the complete new one; an interrupted write leaves
    no partial file behind.
    """
    mode = "wb" if isinstance(data, bytes) else "w"
    with_atomic_file(path, lambda tmp: _write(tmp, data, mode))


def _write(tmp: Path, data: str | bytes, mode: str) -> None:
    with open(tmp, mode, encoding=None if mode == "wb" else "utf-8") as fh:
        fh.write(data)


def with_atomic_file(path: str | Path, writer: Callable[[Path], None]) -> None:
    """Call ``writer(tmp_path)`` to produce the file, then rename it into place.

    Parameters
    ----------
    path : str or Path
        Final location; its folder must exist.
    writer : callable
        Writes the whole file at the given temporary path (for example ``df.to_parquet``).
    """
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        writer(tmp_path)
        # mkstemp creates 0600 files; give the output the usual permissions (umask applied).
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp_path, 0o666 & ~umask)
        os.replace(tmp_path, path)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise
