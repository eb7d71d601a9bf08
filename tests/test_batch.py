"""The batch runtime: generic items on a store with resume, and damaged cell files (issue 13 item 6).

Tiers: the runner (a plain function over plain items: rows in item order, resume skips what is
stored, another run's folder is refused); healing (a truncated, an emptied and a bit-flipped cell
file are each reported, rerun, and the resumed table equals a clean run exactly). Sweeps run in
this process (``workers=0``), fixed behaviour, the conftest small company; seeds in each test.
"""

from __future__ import annotations

import logging
import subprocess
import sys

import pandas as pd
import pytest
from conftest import ROOT, small

from incentsim.batch import ResultStore, Runtime, load_sweep, run_items, run_sweep
from incentsim.scenario import ArgumentError

CALLS: list[int] = []


def square(item: int) -> list[dict]:
    """A work item's rows: the item and its square (module level, so Dask could pickle it)."""
    CALLS.append(item)
    return [{"item": item, "square": item * item}]


def test_run_items_streams_rows_to_the_store_and_resumes(tmp_path):
    CALLS.clear()
    store = ResultStore(tmp_path / "out", "fp-1", {"what": "squares"}, what="study", part="world")
    table = run_items([3, 1, 2], square, store=store, runtime=Runtime(workers=0))
    assert list(table["square"]) == [9, 1, 4] and CALLS == [3, 1, 2]
    assert sorted(p.name for p in (tmp_path / "out" / "worlds").iterdir()) == [
        f"world-00000{i}.parquet" for i in range(3)
    ]
    pd.testing.assert_frame_equal(table, pd.read_parquet(tmp_path / "out" / "results.parquet"))
    (tmp_path / "out" / "worlds" / "world-000001.parquet").unlink()
    CALLS.clear()
    again = run_items([3, 1, 2], square, store=store, resume=True, runtime=Runtime(workers=0))
    assert CALLS == [1]  # only the missing item ran
    pd.testing.assert_frame_equal(table, again, check_exact=True)
    with pytest.raises(ArgumentError, match="resume=True"):
        run_items([3, 1, 2], square, store=store, runtime=Runtime(workers=0))
    other = ResultStore(tmp_path / "out", "fp-2", {}, what="study", part="world")
    with pytest.raises(ArgumentError, match="different study"):
        run_items([3, 1, 2], square, store=other, resume=True, runtime=Runtime(workers=0))
    in_memory = run_items([3, 1, 2], square, runtime=Runtime(workers=0))
    pd.testing.assert_frame_equal(table, in_memory, check_exact=True)


def test_runtime_refuses_workers_and_a_scheduler():
    with pytest.raises(ArgumentError) as info:
        Runtime(workers=2, scheduler="tcp://x:1").check()
    assert "workers=" in str(info.value) and "scheduler=" in str(info.value)
    assert info.value.for_cli(lambda n: f"--{n}").startswith("--workers: give either --workers")


def _grid(replications: int = 40) -> dict:
    return {
        "base": small(),
        "sweep": {"replications": replications, "seed": 7, "schemes": ["separate", "shared"]},
        "grid": {"funnel.quote.conversion": [0.4, 0.5, 0.6]},
    }


def _damage(out) -> list[str]:
    cells = out / "cells"
    (cells / "cell-000000.parquet").write_bytes((cells / "cell-000000.parquet").read_bytes()[:50])  # truncated
    (cells / "cell-000001.parquet").write_bytes(b"")  # emptied
    import pyarrow.parquet as pq

    path = cells / "cell-000002.parquet"
    column = pq.ParquetFile(path).metadata.row_group(0).column(0)
    data = bytearray(path.read_bytes())
    # One flipped byte in the last bytes of the first column's data page: the page checksum catches it.
    end = column.data_page_offset + column.total_compressed_size
    data[end - 3] ^= 0xFF
    path.write_bytes(bytes(data))
    return ["cell-000000", "cell-000001", "cell-000002"]


def test_resume_reruns_damaged_cell_files_and_says_so(tmp_path, caplog):
    # 3 cells x 2 schemes, 40 replications, seed 7: each damaged file is reported once, rerun,
    # and the final table equals the clean run bit for bit.
    sw = load_sweep(_grid())
    out = tmp_path / "out"
    clean = run_sweep(sw, out, workers=0)
    damaged = _damage(out)
    with caplog.at_level(logging.WARNING, logger="incentsim.batch"):
        resumed = run_sweep(sw, out, workers=0, resume=True)
    pd.testing.assert_frame_equal(resumed, clean, check_exact=True)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    for name in damaged:
        assert sum(name in w for w in warnings) == 1, warnings
    assert all("will be run again" in w for w in warnings)
    # The rewritten parts read back whole: a second resume reruns nothing and warns of nothing.
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="incentsim.batch"):
        pd.testing.assert_frame_equal(run_sweep(sw, out, workers=0, resume=True), clean, check_exact=True)
    assert not caplog.records


def test_cli_resume_with_a_truncated_cell_is_one_warning_and_the_same_table(tmp_path):
    # The same sweep from the command line: exit 0, one warning line naming the file, no traceback.
    small_toml = (ROOT / "tests" / "test_sweep.py").read_text().split('SMALL_TOML = """')[1].split('"""')[0]
    (tmp_path / "small.toml").write_text(small_toml)
    path = tmp_path / "sweep.toml"
    path.write_text('[sweep]\nbase = "small.toml"\nreplications = 30\nseed = 5\n[grid]\ndeals.value_mean = [4000, 6000]\n')
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "incentsim.cli.main", "sweep", str(path), "--out", str(out), "--workers", "0"]
    first = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert first.returncode == 0, first.stderr
    clean = pd.read_parquet(out / "results.parquet")
    part = out / "cells" / "cell-000001.parquet"
    part.write_bytes(part.read_bytes()[:20])
    again = subprocess.run([*cmd, "--resume"], capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    assert "Traceback" not in again.stderr
    lines = [ln for ln in again.stderr.splitlines() if "cell-000001.parquet" in ln]
    assert len(lines) == 1 and "unreadable" in lines[0] and "run again" in lines[0], again.stderr
    assert "resuming: 1 of 2 cells already done" in again.stderr
    pd.testing.assert_frame_equal(pd.read_parquet(out / "results.parquet"), clean, check_exact=True)
