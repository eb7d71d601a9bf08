"""numba's import without scipy, yaml and the package metadata (``_numba_env.lean_numba_import``).

Fresh processes: numba is imported once per process, and the test process imported it long ago.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading

import pytest

from incentsim._numba_env import _LeanNumbaImport

# A cached kernel's call, then what was imported; then scipy, yaml and the metadata still work,
# and a function of the user's own still gets numba's extension look-up before its compile.
_CODE = """
import sys
import numpy as np
from incentsim.kernels import rng
from numba.core import entrypoints
out = np.empty(4, dtype=np.uint64)
rng._raw_u64(rng.root_words(7), rng.key_words(()), 0, out)
print(sorted(m for m in ("scipy", "yaml", "importlib.metadata") if m in sys.modules),
      entrypoints._already_initialized, type(entrypoints.importlib_metadata).__name__)
import importlib.metadata, scipy, yaml
from numba import njit
@njit
def user_function(x):
    return x + 1
assert user_function(1) == 2
print(entrypoints._already_initialized, importlib.metadata.version("numpy") == np.__version__,
      entrypoints.importlib_metadata.entry_points is importlib.metadata.entry_points)
"""


def _run(tmp_path, cwd=None):
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "numba")}
    done = subprocess.run(
        [sys.executable, "-c", _CODE], env=env, cwd=cwd, capture_output=True, text=True, timeout=600
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout.strip().splitlines()


def test_a_cached_kernel_runs_without_scipy_yaml_or_the_package_metadata(tmp_path):
    """Seed 7, one process compiling the kernel, a second loading it from numba's cache: the
    second imports none of scipy, yaml or ``importlib.metadata`` and never scans the installed
    packages' entry points (70-110 ms of every warm command, ``-X importtime``; importing the
    kernel module 0.50 -> 0.42 s, medians of 20 in turns). Fails on the old code: numba imported
    scipy and yaml at its import. Afterwards all three import normally, and a function of the
    user's own gets numba's extension look-up before its first compile (``True`` after it)."""
    _run(tmp_path)  # compiles rng._raw_u64 into this test's cache
    first, after = _run(tmp_path)
    assert first == "[] False _DeferredModule", first
    assert after == "True True True", after


def test_a_numba_config_file_in_the_working_folder_is_still_read(tmp_path):
    """numba reads ``.numba_config.yaml`` from the working folder with yaml: there, yaml is not
    refused (the file's setting, bounds checking on, reaches numba's config)."""
    work = tmp_path / "work"
    work.mkdir()
    (work / ".numba_config.yaml").write_text("boundscheck: 1\n")
    code = "import incentsim.kernels.rng, sys; from numba.core import config; print('yaml' in sys.modules, config.BOUNDSCHECK)"
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "numba")}
    env.pop("NUMBA_BOUNDSCHECK", None)
    done = subprocess.run([sys.executable, "-c", code], env=env, cwd=work, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split() == ["True", "1"]


def test_only_the_thread_importing_numba_is_refused_scipy_and_yaml():
    """Another thread importing scipy while numba imports gets it (the refusal is the importing
    thread's only)."""
    guard = _LeanNumbaImport()
    guard._thread = threading.get_ident()
    guard._refused = frozenset({"scipy", "yaml"})
    guard._deferred = False
    with pytest.raises(ModuleNotFoundError):
        guard.find_spec("scipy", None)
    assert guard.find_spec("numpy", None) is None
    seen = []
    other = threading.Thread(target=lambda: seen.append(guard.find_spec("scipy", None)))
    other.start()
    other.join()
    assert seen == [None]
