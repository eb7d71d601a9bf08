"""Where numba caches compiled kernels (set before numba is first imported).

numba invalidates a cached function only when its *own* file changes, not when a jitted helper
in another module does (numba#1833), and it fails when the package folder is read-only. So,
unless the user chose ``NUMBA_CACHE_DIR``, cache in a user folder keyed by a hash of all kernel
sources: editing any kernel file starts a fresh cache, and installed packages work read-only.
"""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
from pathlib import Path


def kernel_source_hash() -> str:
    """Short hash of every kernel source file (and the modules whose NamedTuples they take)."""
    here = Path(__file__).parent
    files = sorted((here / "kernels").glob("*.py")) + [here / "compile.py"]
    h = hashlib.sha256()
    for f in files:
        try:
            h.update(f.read_bytes())
        except OSError:
            pass
    return h.hexdigest()[:12]


def configure() -> None:
    """Point ``NUMBA_CACHE_DIR`` at a per-source-hash folder, unless already set or too late."""
    if "NUMBA_CACHE_DIR" in os.environ or "numba" in sys.modules:
        return
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    for root in (base, tempfile.gettempdir()):
        folder = Path(root) / "incentsim" / f"numba-{kernel_source_hash()}"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            probe = folder / ".write-test"
            probe.write_bytes(b"")
            probe.unlink()
        except OSError:
            continue
        os.environ["NUMBA_CACHE_DIR"] = str(folder)
        return
