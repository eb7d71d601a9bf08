"""File output: atomic writes, and a command's outputs committed together or not at all.

Every file is written to a temporary file in its own folder and renamed into place, so a reader
sees either the old file or the complete new one. Inside :func:`output_set` the renames wait
until the command has produced every output: a failure, Ctrl-C (SIGINT) or SIGTERM before then
leaves the old set of files as it was and removes the temporaries. Temporaries are named
``.NAME.PID.RANDOM.tmp``; one left behind by a process killed outright (SIGKILL, power loss) is
removed by the next command that writes the same file.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import re
import signal
import tempfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from .scenario.errors import ScenarioError

#: Test hook: seconds to wait, with every output staged, before the renames (interruption tests).
PAUSE_BEFORE_COMMIT = "INCENTSIM_DEBUG_PAUSE_BEFORE_COMMIT"
_CURRENT: contextvars.ContextVar[OutputSet | None] = contextvars.ContextVar("incentsim_output_set", default=None)
_TMP = re.compile(r"^\.(?P<name>.+)\.(?P<pid>\d+)\.[^.]+\.tmp$")


def write_atomic(path: str | Path, data: str | bytes) -> None:
    """Write ``data`` to ``path`` via a temporary file in the same folder and a rename.

    A reader sees either the old file or the complete new one; an interrupted write leaves
    no partial file behind. Inside :func:`output_set` the rename waits for the set's commit.
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

    Inside :func:`output_set` the temporary file is kept and renamed when the set commits.
    """
    path = Path(path)
    tmp_path = _temporary(path)
    try:
        writer(tmp_path)
        _chmod_like_new_file(tmp_path)
        current = _CURRENT.get()
        if current is not None:
            current._stage(path, tmp_path)
        else:
            os.replace(tmp_path, path)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise


def _temporary(path: Path) -> Path:
    folder = path.parent if str(path.parent) else Path(".")
    remove_stale_temporaries(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp", dir=folder)
    os.close(fd)
    return Path(tmp)


def _chmod_like_new_file(tmp: Path) -> None:
    # mkstemp creates 0600 files; give the output the usual permissions (umask applied).
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)


def remove_stale_temporaries(path: str | Path) -> int:
    """Remove temporaries of ``path`` left by processes that no longer run; return how many."""
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    removed = 0
    try:
        entries = list(folder.iterdir())
    except OSError:
        return 0
    for entry in entries:
        m = _TMP.match(entry.name)
        if m is None or m["name"] != path.name:
            continue
        if _alive(int(m["pid"])):
            continue
        with contextlib.suppress(OSError):
            entry.unlink()
            removed += 1
    return removed


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


def check_output_path(path: str | Path, option: str, suffixes: Sequence[str] | None = None) -> Path:
    """Check, before any work, that a file can be written at ``path``.

    Parameters
    ----------
    path : str or Path
        The output file.
    option : str
        The option or argument that named it (for the error message), e.g. ``"--out"``.
    suffixes : sequence of str, optional
        Accepted suffixes (lower case, with the dot), e.g. ``(".png",)``.

    Raises
    ------
    ScenarioError
        One line naming the file and the option: a missing or unwritable folder, a folder in
        the way, or a suffix the output cannot be written as.
    """
    p = Path(path)
    if str(path) == "" or p.name in ("", ".", ".."):
        raise ScenarioError(str(path), option, "is not a file name")
    if suffixes is not None and p.suffix.lower() not in suffixes:
        got = p.suffix or "no suffix"
        raise ScenarioError(str(path), option, f"must end in {' or '.join(suffixes)} (got {got})")
    folder = p.parent if str(p.parent) else Path(".")
    if not folder.exists():
        raise ScenarioError(str(path), option, f"cannot be written: folder {str(folder)!r} does not exist")
    if not folder.is_dir():
        raise ScenarioError(str(path), option, f"cannot be written: {str(folder)!r} is not a folder")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ScenarioError(str(path), option, f"cannot be written: folder {str(folder)!r} is not writable")
    if p.is_dir():
        raise ScenarioError(str(path), option, "cannot be written: it is a folder, not a file")
    if p.exists() and not os.access(p, os.W_OK) and not os.access(folder, os.W_OK):
        raise ScenarioError(str(path), option, "cannot be written: no permission to replace it")
    return p


class OutputSet:
    """The files one command writes, renamed into place together at the end.

    Use :func:`output_set`; files written meanwhile with :func:`with_atomic_file` (or
    :func:`write_atomic`) are staged here.
    """

    def __init__(self) -> None:
        self.staged: dict[Path, Path] = {}

    def _stage(self, path: Path, tmp: Path) -> None:
        old = self.staged.pop(path, None)
        if old is not None:
            old.unlink(missing_ok=True)
        self.staged[path] = tmp

    def commit(self) -> list[Path]:
        """Rename every staged file into place (SIGINT and SIGTERM wait until all are done)."""
        pause = os.environ.get(PAUSE_BEFORE_COMMIT)
        if pause and self.staged:  # fault injection for the interruption tests
            import sys
            import time

            print(f"incentsim: {len(self.staged)} output(s) staged", file=sys.stderr, flush=True)
            time.sleep(float(pause))
        signals = {signal.SIGINT, signal.SIGTERM}
        blocked = hasattr(signal, "pthread_sigmask")
        if blocked:
            old = signal.pthread_sigmask(signal.SIG_BLOCK, signals)
        try:
            done = []
            for path, tmp in list(self.staged.items()):
                os.replace(tmp, path)
                done.append(path)
                del self.staged[path]
            return done
        finally:
            if blocked:
                signal.pthread_sigmask(signal.SIG_SETMASK, old)

    def discard(self) -> None:
        """Remove every staged temporary file."""
        for tmp in self.staged.values():
            tmp.unlink(missing_ok=True)
        self.staged.clear()


@contextlib.contextmanager
def output_set() -> Iterator[OutputSet]:
    """Stage every file written inside the block; rename them all when it ends normally.

    On any exception (including KeyboardInterrupt) the staged files are removed and the old
    files stay as they were.
    """
    outputs = OutputSet()
    token = _CURRENT.set(outputs)
    try:
        yield outputs
    except BaseException:
        _CURRENT.reset(token)
        outputs.discard()
        raise
    _CURRENT.reset(token)
    try:
        outputs.commit()
    except BaseException:
        outputs.discard()
        raise
