"""The output store of a batch run: one Parquet part file per finished item, a manifest, a table.

Layout of the folder (``out``)::

    out/<manifest>            what was run (``sweep.json`` for a sweep), with its fingerprint
    out/<parts>/<part>-000123.parquet   the rows of item 123, written atomically when it finishes
    out/results.parquet       every item's rows in item order, written at the end

Each part is written to a temporary file and renamed, so a part on disk is complete unless the
disk itself damaged it. On resume each part is read back in full (Parquet page checksums are
written and verified): one that cannot be read (truncated, emptied, corrupted) is reported once
as a warning, deleted and its item run again. A folder that holds another run (another
fingerprint) is refused, so results of two different runs never mix.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..scenario.errors import ArgumentError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ResultStore:
    """A folder that collects per-item results of one batch run and can resume it.

    Attributes
    ----------
    folder : Path
        The output folder (created when missing).
    fingerprint : str
        Hash of everything that determines the results; another run's folder is refused.
    manifest : dict
        What the manifest file records (the fingerprint is added).
    what : str
        What the run is called in messages (``"sweep"``).
    part : str
        Name of an item in part file names and messages (``"cell"``).
    manifest_name : str
        File name of the manifest (``"sweep.json"``).
    """

    folder: Path
    fingerprint: str
    manifest: dict
    what: str = "batch run"
    part: str = "item"
    manifest_name: str = "manifest.json"

    @property
    def parts(self) -> Path:
        """The folder of the part files."""
        return Path(self.folder) / f"{self.part}s"

    @property
    def results_path(self) -> Path:
        """Where :meth:`combine` writes the whole table."""
        return Path(self.folder) / "results.parquet"

    def part_path(self, index: int) -> Path:
        """Where item ``index``'s rows are stored."""
        return self.parts / f"{self.part}-{index:06d}.parquet"

    def stored(self) -> set[int]:
        """Indices of the items with a part file (not yet checked for damage)."""
        if not self.parts.is_dir():
            return set()
        pattern = re.compile(rf"{re.escape(self.part)}-(\d+)\.parquet")
        return {int(m.group(1)) for p in self.parts.iterdir() if (m := pattern.fullmatch(p.name))}

    def open(self, resume: bool, total: int) -> set[int]:
        """Check (and create) the folder; return the items already finished there.

        Parameters
        ----------
        resume : bool
            Whether finished items in the folder may be kept (otherwise a folder holding any is
            refused).
        total : int
            Number of items of the run (parts beyond it are ignored).

        Returns
        -------
        set of int
            Items whose part file reads back complete; damaged parts are deleted (their items
            run again) with one warning each.

        Raises
        ------
        ArgumentError
            (``out``) When the folder is a file, holds another run, or holds finished items and
            ``resume`` is not set (a folder of this run with no finished item, left by a run
            that failed to start, is simply reused).
        """
        folder = Path(self.folder)
        if folder.exists() and not folder.is_dir():
            raise ArgumentError("out", f"is a file; the {self.what} needs a folder for its results", str(folder))
        manifest = folder / self.manifest_name
        done = self.stored()
        if manifest.exists() or done:
            try:
                old = json.loads(manifest.read_text())
            except (OSError, ValueError):
                old = {}
            if old.get("fingerprint") != self.fingerprint:
                raise ArgumentError(
                    "out",
                    f"holds results of a different {self.what} (its file, base scenario, settings or incentsim "
                    "version changed); choose another {{out}}",
                    str(folder),
                )
            if done and not resume:
                raise ArgumentError(
                    "out",
                    f"already holds {self.what} results: resume it ({{{{resume=True}}}}) or choose another {{{{out}}}}",
                    str(folder),
                )
            done = {i for i in done if i < total}
            done -= self._damaged(done)
        try:
            self.parts.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ArgumentError("out", f"cannot be created ({exc.strerror or exc})", str(folder)) from None
        if not manifest.exists():
            from ..io import write_atomic

            write_atomic(manifest, json.dumps({**self.manifest, "fingerprint": self.fingerprint}, indent=2) + "\n")
        return done

    def _damaged(self, indices: Iterable[int]) -> set[int]:
        """Items whose part file cannot be read back in full: warned about, deleted, to be rerun."""
        bad = set()
        for i in sorted(indices):
            path = self.part_path(i)
            try:
                read_part(path)
            except Exception as exc:  # noqa: BLE001 - any failure to read means "not finished"
                reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                log.warning("%s: unreadable (%s); %s %d will be run again", path, reason[:120], self.part, i)
                path.unlink(missing_ok=True)
                bad.add(i)
        return bad

    def write(self, index: int, rows: list[dict[str, Any]]) -> None:
        """Store one item's rows, atomically (a reader sees no part or the whole part)."""
        write_part(self.part_path(index), rows)

    def combine(self, indices: Iterable[int]) -> Any:
        """Every item's rows in item order as one pandas DataFrame, also written to ``results.parquet``."""
        import pandas as pd

        from ..io import with_atomic_file

        frames = [read_part(self.part_path(i)) for i in indices]
        table = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
        with_atomic_file(self.results_path, lambda tmp: table.to_parquet(tmp, index=False))
        return table


def write_part(path: Path, rows: list[dict[str, Any]]) -> None:
    """Write rows as one Parquet file, atomically, with page checksums (damage is detectable)."""
    import pandas as pd

    from ..io import with_atomic_file

    frame = pd.DataFrame(rows)
    with_atomic_file(path, lambda tmp: frame.to_parquet(tmp, index=False, write_page_checksum=True))


def read_part(path: Path) -> Any:
    """Read a part file in full, verifying its page checksums; raises on any damage."""
    import pyarrow.parquet as pq

    table = pq.read_table(path, page_checksum_verification=True)
    return table.to_pandas()
