"""A small on-disk cache for derived results (calibrations, solved policies), that heals itself.

Entries live in ``$INCENTSIM_CACHE_DIR`` or ``~/.cache/incentsim/<version>``, keyed by scenario
hash and, in the file name or the entry, by a hash of the code that computed them. Every entry
carries the cache format, that code hash and a SHA-256 of its content, and is checked when read: an entry that is
unreadable (truncated, emptied, bit-flipped), of another format or code, or that fails the
caller's ``validate`` (shapes, keys, finite values) is deleted and reported as a miss, so the
caller recomputes and stores it again. A damaged entry is reported once, as a warning on stderr;
the cache is only a speed-up and never changes a result. Non-finite values are never stored.
"""

from __future__ import annotations

import functools
import json
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import __version__

#: Layout of the entries (stored in each; another value is a miss).
FORMAT = 2
_log = logging.getLogger("incentsim")
_warned: set[str] = set()


class CacheEntryError(ValueError):
    """Raised by a ``validate`` function: the entry is not usable (the message says why)."""


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


def _folder() -> Path | None:
    if os.environ.get("INCENTSIM_NO_CACHE"):
        return None
    return cache_dir()


@functools.lru_cache(maxsize=1)
def code_hash() -> str:
    """Short hash of every source file of the package: an entry computed by other code is stale."""
    root = Path(__file__).parent
    files = sorted(p.relative_to(root).as_posix() for p in root.rglob("*.py"))
    return source_hash(*files)


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


def _reject(path: Path, why: str, damaged: bool = True) -> None:
    """Delete an unusable entry; warn once when it was damaged (a stale one is only logged)."""
    try:
        path.unlink()
    except OSError:
        pass
    if damaged and str(path) not in _warned:
        _warned.add(str(path))
        _log.warning("cache entry %s was unusable (%s): deleted; computing it again", path, why)
    elif not damaged:
        _log.info("cache entry %s is stale (%s): deleted", path, why)


def load_json(name: str, *, validate: Callable[[dict], None] | None = None) -> dict | None:
    """A cached JSON object, or ``None`` when absent or unusable (then deleted).

    Parameters
    ----------
    name : str
        File name in the cache folder.
    validate : callable, optional
        Called with the stored object; raises (:class:`CacheEntryError` or any error) when the
        object is not usable: missing keys, wrong types, non-finite values.
    """
    folder = _folder()
    if folder is None:
        return None
    path = folder / name
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        _reject(path, f"cannot be read: {exc.strerror or exc}")
        return None
    try:
        entry = json.loads(raw.decode("utf-8"), parse_constant=_no_constant)
    except (ValueError, UnicodeDecodeError) as exc:
        _reject(path, f"not valid JSON: {' '.join(str(exc).split())[:80]}")
        return None
    if not isinstance(entry, dict) or "format" not in entry:
        _reject(path, "written by an earlier version", damaged=False)
        return None
    if set(entry) != {"format", "code", "sha256", "data"}:
        _reject(path, f"keys {', '.join(sorted(map(str, entry)))}")
        return None
    if entry["format"] != FORMAT or entry["code"] != code_hash():
        _reject(path, "written by other code", damaged=False)
        return None
    data = entry["data"]
    try:
        if entry["sha256"] != _digest(data):
            raise CacheEntryError("checksum mismatch")
        if not isinstance(data, dict):
            raise CacheEntryError(f"expected an object, got {type(data).__name__}")
        if validate is not None:
            validate(data)
    except Exception as exc:  # any failure of the check means: recompute
        _reject(path, _why(exc))
        return None
    return data


def _digest(data: Any) -> str:
    """SHA-256 of an object's canonical JSON (a flipped digit in a stored number changes it)."""
    import hashlib

    return hashlib.sha256(json.dumps(data, sort_keys=True, allow_nan=False).encode()).hexdigest()


def _no_constant(name: str):
    raise ValueError(f"non-finite number {name}")


def save_json(name: str, data: dict) -> None:
    """Store a JSON object (atomically; non-finite values and failures are never stored)."""
    folder = _folder()
    if folder is None:
        return
    from .io import write_atomic

    try:
        entry = {"format": FORMAT, "code": code_hash(), "sha256": _digest(data), "data": data}
        text = json.dumps(entry, allow_nan=False)
    except (TypeError, ValueError) as exc:
        _log.warning("not caching %s: %s", name, exc)
        return
    try:
        write_atomic(folder / name, text)
    except OSError:
        pass


def load_arrays(name: str, *, validate: Callable[[dict], None] | None = None) -> dict | None:
    """Arrays cached with :func:`save_arrays`, or ``None`` when absent or unusable (then deleted).

    Parameters
    ----------
    name : str
        File name (``.npz``) in the cache folder.
    validate : callable, optional
        Called with the dict of arrays; raises when they are not usable (missing keys, shapes
        that do not fit the scenario, indices out of range, non-finite values).
    """
    import zipfile

    import numpy as np

    folder = _folder()
    if folder is None:
        return None
    path = folder / name
    if not path.exists():
        return None
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile, zipfile.LargeZipFile, RuntimeError) as exc:
        _reject(path, _why(exc))
        return None
    except Exception as exc:  # a damaged archive can fail in other ways too: never crash on it
        _reject(path, _why(exc))
        return None
    fmt = arrays.pop("__format__", None)
    code = arrays.pop("__code__", None)
    digest = arrays.pop("__sha256__", None)
    if fmt is None or code is None:
        _reject(path, "no format or code stamp")
        return None
    try:
        stale = int(fmt) != FORMAT or str(code) != code_hash()
    except (TypeError, ValueError) as exc:
        _reject(path, _why(exc))
        return None
    if stale:
        _reject(path, "written by other code", damaged=False)
        return None
    # A flipped bit inside an array is caught here, whatever the caller's own checks can see (a share
    # 1.0 flipped to 1.0000000000000018 passes every range check).
    if digest is None or str(digest) != _array_digest(arrays):
        _reject(path, "checksum mismatch" if digest is not None else "no checksum")
        return None
    try:
        for key, value in arrays.items():
            if value.dtype.kind in "fc" and not np.all(np.isfinite(value)):
                raise CacheEntryError(f"{key} has non-finite values")
        if validate is not None:
            validate(arrays)
    except Exception as exc:
        _reject(path, _why(exc))
        return None
    return arrays


def save_arrays(name: str, arrays: dict) -> None:
    """Store named arrays as one ``.npz`` (atomically; non-finite arrays and failures are never stored)."""
    import numpy as np

    folder = _folder()
    if folder is None:
        return
    from .io import with_atomic_file

    for key, value in arrays.items():
        v = np.asarray(value)
        if v.dtype.kind in "fc" and not np.all(np.isfinite(v)):
            _log.warning("not caching %s: %s has non-finite values", name, key)
            return
    plain = {k: np.asarray(v) for k, v in arrays.items()}
    stamped = dict(plain, __format__=np.array(FORMAT), __code__=np.array(code_hash()),
                   __sha256__=np.array(_array_digest(plain)))  # fmt: skip

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as fh:
            np.savez(fh, **stamped)

    try:
        with_atomic_file(folder / name, write)
    except OSError:
        pass


def _array_digest(arrays: dict) -> str:
    """SHA-256 of named arrays: each name, dtype, shape and bytes, in name order."""
    import hashlib

    import numpy as np

    h = hashlib.sha256()
    for key in sorted(arrays):
        a = np.ascontiguousarray(arrays[key])
        h.update(f"{key}|{a.dtype.str}|{a.shape}|".encode())
        h.update(a.tobytes())
    return h.hexdigest()


def _why(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text[:100]}" if text else type(exc).__name__


def require(predicate: Callable[[Any], bool], reason: str) -> Callable[[Any], None]:
    """A ``validate`` from a predicate (for example a solver's own format check)."""

    def check(data: Any) -> None:
        if not predicate(data):
            raise CacheEntryError(reason)

    return check


def expect_numbers(*keys: str, strings: tuple[str, ...] = ()) -> Callable[[dict], None]:
    """A ``validate`` for :func:`load_json`: these keys hold finite numbers (and these strings)."""
    import math

    def check(data: dict) -> None:
        for key in keys:
            value = data.get(key)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise CacheEntryError(f"{key} is {value!r}, not a number")
            if not math.isfinite(value):
                raise CacheEntryError(f"{key} is {value}")
        for key in strings:
            if not isinstance(data.get(key), str):
                raise CacheEntryError(f"{key} is {data.get(key)!r}, not a string")

    return check
