"""Where numba caches compiled kernels (set before numba is first imported), and a guard that
makes a corrupt cache file a cache miss instead of a crash.

numba invalidates a cached function only when its *own* file changes, not when a jitted helper
in another module does (numba#1833), and it fails when the package folder is read-only. So,
unless the user chose ``NUMBA_CACHE_DIR``, cache in a user folder keyed by a hash of all kernel
sources: editing any kernel file starts a fresh cache, and installed packages work read-only.

numba trusts its cache files: a truncated, emptied or bit-flipped index (``.nbi``) or data
(``.nbc``) file stops every later run with an ``UnpicklingError`` (or worse, loads damaged
machine code). :func:`configure` therefore patches numba's cache-file class as soon as numba
imports it: data is written with a SHA-256 checksum, and an index or data file that cannot be
read or fails its checksum is reported once (a warning on stderr), deleted and treated as a cache
miss, so numba compiles the kernel again and rewrites the file.

numba's own import loads scipy, yaml and the package metadata, which no incentsim command needs:
:func:`lean_numba_import` has it skip them (70-110 ms of every command that runs a kernel).
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import pickle
import sys
import tempfile
import threading  # (already loaded: logging imports it)
from pathlib import Path

#: Cache-file layout version, part of the folder name (files carry a checksum since version 2).
CACHE_FORMAT = 2
#: Marks a checksummed payload: magic, then the SHA-256 of the pickle, then the pickle.
_MAGIC = b"INCENTSIM-NUMBA2"
_log = logging.getLogger("incentsim")
_warned: set[str] = set()


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
    """Point ``NUMBA_CACHE_DIR`` at a per-source-hash folder (unless already set or too late),
    guard numba's cache files against corruption, and import numba without what no command uses
    (:func:`lean_numba_import`)."""
    guard_cache_files()
    lean_numba_import()
    if "numba" not in sys.modules:
        # Type inference tries many typing templates per call and builds an error message for each
        # that does not match; with highlighting on, each message set up and tore down colorama's
        # stream wrappers (22,500 of them, about 0.5 s, in the simulation kernel's first compile).
        # Nobody reads these messages: they are discarded when another template matches.
        os.environ.setdefault("NUMBA_DISABLE_ERROR_MESSAGE_HIGHLIGHTING", "1")
    if "NUMBA_CACHE_DIR" in os.environ or "numba" in sys.modules:
        return
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    for root in (base, tempfile.gettempdir()):
        folder = Path(root) / "incentsim" / f"numba-{kernel_source_hash()}-v{CACHE_FORMAT}"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            probe = folder / ".write-test"
            probe.write_bytes(b"")
            probe.unlink()
        except OSError:
            continue
        os.environ["NUMBA_CACHE_DIR"] = str(folder)
        return


# -- numba's import without what no command uses ----------------------------------------------

#: Modules numba's own import loads that no incentsim command needs: numba imports scipy only to
#: check that its version is at least 1.0 (the project requires a far newer one), and yaml only to
#: read a ``.numba_config.yaml`` in the working folder (left alone when there is one).
_NOT_FOR_NUMBA = ("scipy", "yaml")
#: numba's extension look-up (entry points of installed packages, ``numba.core.entrypoints``).
_METADATA = "importlib.metadata"


def lean_numba_import() -> None:
    """Have numba's first import (in any thread) skip scipy, yaml and ``importlib.metadata``.

    These cost 70-110 ms of every command that runs a kernel (``-X importtime``: yaml about 20 ms,
    scipy's top package about 13, ``importlib.metadata`` 30-47, and its scan of every installed
    package's entry points at a kernel's first call about 29 ms), and none of them changes what
    numba does for incentsim:

    - While numba's package imports, in the importing thread only, ``import scipy`` and ``import
      yaml`` fail (:class:`_LeanNumbaImport`), as if they were not installed; numba then skips its
      scipy version check and its config file (yaml is not refused when ``.numba_config.yaml``
      exists in the working folder). Both import normally afterwards, for whoever needs them.
    - ``numba.core.entrypoints`` gets a stand-in for ``importlib.metadata`` that imports the real
      module at its first use (:class:`_DeferredModule`).
    - incentsim's own kernels skip numba's look-up of third-party extensions before their first
      call (:func:`_lean_dispatchers`): they use numba's own types only. A compile still looks
      them up (numba's context refresh does, before typing), as does any other numba function.
    """
    if "numba" in sys.modules or any(isinstance(f, _PatchOnImport) and f.target == "numba" for f in sys.meta_path):
        return
    sys.meta_path.insert(0, _PatchOnImport("numba", _lean_dispatchers, around=_LeanNumbaImport))


class _LeanNumbaImport:
    """A context (around numba's package import) in which the importing thread cannot import
    :data:`_NOT_FOR_NUMBA` and gets a :class:`_DeferredModule` for :data:`_METADATA`."""

    def __enter__(self):
        self._thread = threading.get_ident()
        refused = [m for m in _NOT_FOR_NUMBA if m not in sys.modules]
        if "yaml" in refused and os.path.isfile(".numba_config.yaml"):
            refused.remove("yaml")
        self._refused = frozenset(refused)
        self._deferred = _METADATA not in sys.modules
        sys.meta_path.insert(0, self)
        return self

    def __exit__(self, *exc):
        if self in sys.meta_path:
            sys.meta_path.remove(self)
        if self._deferred and isinstance(sys.modules.get(_METADATA), _DeferredModule):
            # Later imports get the real module; numba keeps its stand-in.
            del sys.modules[_METADATA]
            import importlib as package

            if isinstance(getattr(package, "metadata", None), _DeferredModule):
                delattr(package, "metadata")
        return False

    def find_spec(self, fullname, path, target=None):
        if threading.get_ident() != self._thread:
            return None
        if fullname in self._refused:
            raise ModuleNotFoundError(f"{fullname} is not imported with numba (incentsim._numba_env)", name=fullname)
        if fullname == _METADATA and self._deferred:
            return importlib.util.spec_from_loader(fullname, self)
        return None

    def create_module(self, spec):
        return _DeferredModule(spec.name)

    def exec_module(self, module):
        pass


class _DeferredModule(type(sys)):
    """Stands in for a module until an attribute is read, then imports the real one."""

    def __getattr__(self, attr):
        if attr.startswith("__"):  # the import system probing module attributes
            raise AttributeError(attr)
        real = importlib.import_module(self.__name__)
        if real is self:  # pragma: no cover - only if the stand-in were still registered
            raise AttributeError(attr)
        return getattr(real, attr)


def _lean_dispatchers(numba) -> None:
    """Skip numba's third-party extension look-up before the first call of incentsim's kernels."""
    from numba.core import dispatcher

    cls = getattr(dispatcher, "_DispatcherBase", None)
    original = getattr(cls, "_compilation_chain_init_hook", None)
    if original is None or getattr(cls, "_incentsim_lean", False):
        return  # another numba: its look-up stays as it is

    def _compilation_chain_init_hook(self):
        if not getattr(self.py_func, "__module__", "").startswith("incentsim."):
            original(self)

    cls._compilation_chain_init_hook = _compilation_chain_init_hook
    cls._incentsim_lean = True


# -- corrupt cache files are cache misses ------------------------------------------------------


def guard_cache_files() -> None:
    """Patch ``numba.core.caching.IndexDataCacheFile`` now if numba is loaded, else when it is."""
    when_imported("numba.core.caching", _patch)


def when_imported(name: str, patch) -> None:
    """Call ``patch(module)`` on module ``name`` now if it is loaded, else right after its import
    (so that patching a part of numba a command may never use costs that command nothing)."""
    module = sys.modules.get(name)
    if module is not None:
        patch(module)
    elif not any(isinstance(f, _PatchOnImport) and f.target == name for f in sys.meta_path):
        sys.meta_path.insert(0, _PatchOnImport(name, patch))


class _PatchOnImport:
    """Calls ``patch(module)`` right after module ``target`` is imported (a meta path finder: only
    ``find_spec`` is needed, so not a subclass of ``importlib.abc.MetaPathFinder``, whose import
    brings ``importlib.resources`` along, 35 ms of every command). With ``around``, a context
    manager factory, the module's own code runs inside ``around()``."""

    def __init__(self, target: str, patch, around=None) -> None:
        self.target = target
        self._patch = patch
        self._around = around
        self._busy = False

    def find_spec(self, fullname, path, target=None):
        """The real spec of the target module, with a loader that patches it once loaded."""
        if fullname != self.target or self._busy:
            return None
        self._busy = True
        try:
            spec = importlib.util.find_spec(fullname)
        finally:
            self._busy = False
        if spec is None or spec.loader is None:
            return spec
        loader = spec.loader
        original = loader.exec_module
        finder = self

        def exec_module(module):
            if finder._around is None:
                original(module)
            else:
                with finder._around():
                    original(module)
            finder._patch(module)
            if finder in sys.meta_path:
                sys.meta_path.remove(finder)

        loader.exec_module = exec_module
        return spec


def _corrupt(path: str, why: str) -> None:
    """Report a corrupt cache file once and delete it (numba then compiles and rewrites it)."""
    try:
        os.unlink(path)
    except OSError:
        pass
    if path not in _warned:
        _warned.add(path)
        _log.warning(
            "compiled-kernel cache file %s was unreadable (%s): deleted; compiling the kernel again", path, why
        )


def _checked(raw: bytes, path: str) -> bytes | None:
    """The pickle inside a checksummed payload, or ``None`` (after reporting) when it is damaged.

    A payload without the marker is accepted when it unpickles (a file numba wrote itself, in a
    ``NUMBA_CACHE_DIR`` chosen by the user).
    """
    if raw.startswith(_MAGIC):
        digest, body = raw[len(_MAGIC) : len(_MAGIC) + 32], raw[len(_MAGIC) + 32 :]
        if len(digest) == 32 and hashlib.sha256(body).digest() == digest:
            return body
        _corrupt(path, "checksum mismatch" if raw else "empty")
        return None
    if not raw:
        _corrupt(path, "empty file")
        return None
    return raw


def _patch(caching) -> None:
    cls = caching.IndexDataCacheFile
    if getattr(cls, "_incentsim_guarded", False):
        return
    original_dump = cls._dump

    def _dump(self, obj):
        data = original_dump(self, obj)
        return _MAGIC + hashlib.sha256(data).digest() + data

    def _load_index(self):
        try:
            with open(self._index_path, "rb") as f:
                version = pickle.load(f)
                raw = f.read()
        except FileNotFoundError:
            return {}
        except Exception as exc:  # truncated, emptied or garbled: a miss, never a crash
            _corrupt(self._index_path, type(exc).__name__)
            return {}
        if version != self._version:
            return {}  # another numba version's index: numba rewrites it
        body = _checked(raw, self._index_path)
        if body is None:
            return {}
        try:
            stamp, overloads = pickle.loads(body)
        except Exception as exc:
            _corrupt(self._index_path, type(exc).__name__)
            return {}
        if stamp != self._source_stamp:
            return {}
        return overloads

    def _load_data(self, name):
        path = self._data_path(name)
        with open(path, "rb") as f:
            raw = f.read()
        body = _checked(raw, path)
        if body is not None:
            try:
                return pickle.loads(body)
            except Exception as exc:
                _corrupt(path, type(exc).__name__)
        # numba's load() treats OSError as "the file went away": a cache miss.
        raise FileNotFoundError(path)

    cls._dump = _dump
    cls._load_index = _load_index
    cls._load_data = _load_data
    cls._incentsim_guarded = True
    _load_without_refresh(caching)


def _load_without_refresh(caching) -> None:
    """Load cached kernels without numba's ``refresh()`` of its compile-time registries.

    numba's ``Cache.load_overload`` refreshes the target context first: it imports and installs
    every implementation numba has (linear algebra, datetimes, typed containers, random
    generators ...), 0.7 s of every warm command, though loading machine code uses none of them.
    What a load does need is in place without it: numba's C helpers and exception symbols are
    registered when the context is built, the math functions when it is initialised, and the
    runtime's (NRT) symbols, which kernels that allocate call, are registered here first. Any
    compile still refreshes (numba's ``CompilerBase`` does, before typing), so a cache miss
    compiles exactly as before.
    """
    cls = caching.Cache
    if getattr(cls, "_incentsim_no_refresh", False):
        return

    def load_overload(self, sig, target_context):
        from numba.core.runtime import rtsys

        rtsys.initialize(target_context)  # idempotent
        with self._guard_against_spurious_io_errors():
            return self._load_overload(sig, target_context)
        return None  # the guard swallowed an I/O error: a miss (numba's own behaviour)

    cls.load_overload = load_overload
    cls._incentsim_no_refresh = True


# -- is a kernel compiled already? ------------------------------------------------------------


def cached_specialisations(dispatcher) -> int | None:
    """How many compiled specialisations of a ``cache=True`` kernel numba's disk cache holds for
    its current source, or ``None`` when that cannot be told (no disk cache, another numba).

    Used to say "compiling ... (first run only)" before a first run compiles, not after.
    """
    if dispatcher.signatures:
        return len(dispatcher.signatures)  # already compiled or loaded in this process
    try:
        return len(dispatcher._cache._cache_file._load_index())
    except Exception:  # numba internals moved: unknown
        return None
