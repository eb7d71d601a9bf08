"""Measuring instruments shared by the pytest-benchmark suites and ``python -m benchmarks.report``.

Every timing is the best of a few runs after a warm-up call (other processes share this 2-core
machine, so the best run is the one least disturbed), and records the process CPU time over wall
time of the runs (``cpu_util``: about 2.0 when both threads had a core to themselves) and the
load average, so a disturbed figure can be recognised as such.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path

import incentsim  # noqa: F401  (sets NUMBA_CACHE_DIR before numba is imported)

from .configurations import CLI_REPLICATIONS, ROOT, SCENARIO, SCHEME, SEED

# -- timing --------------------------------------------------------------------------------------


@dataclass
class Timing:
    """Wall times of repeated runs of one piece of work.

    Attributes
    ----------
    best : float
        Fastest run, seconds.
    times : list of float
        Every run, seconds.
    cpu_util : float
        Process CPU seconds (all threads) over wall seconds, summed over the runs.
    cpu_best : float
        Process CPU seconds of the fastest run.
    load : float
        1-minute load average at the end.
    """

    best: float
    times: list[float] = field(default_factory=list)
    cpu_util: float = 0.0
    cpu_best: float = 0.0
    load: float = 0.0

    def to_dict(self) -> dict:
        """JSON-ready."""
        return asdict(self)


def _cpu() -> float:
    t = os.times()
    return t.user + t.system


def timed(fn: Callable[[], object], repeat: int = 3, warmup: bool = True) -> tuple[Timing, object]:
    """Best-of-``repeat`` wall time of ``fn()`` (after one untimed call when ``warmup``).

    Returns
    -------
    (Timing, object)
        The timing, and the value of the last call.
    """
    if warmup:
        fn()
    times, cpus = [], []
    value = None
    for _ in range(repeat):
        c0, t0 = _cpu(), time.perf_counter()
        value = fn()
        t1, c1 = time.perf_counter(), _cpu()
        times.append(t1 - t0)
        cpus.append(c1 - c0)
    wall = sum(times)
    best = min(range(repeat), key=lambda i: times[i])
    util = sum(cpus) / wall if wall > 0 else 0.0
    return Timing(times[best], times, util, cpus[best], os.getloadavg()[0]), value


def interleaved(cases: dict[str, tuple], repeat: int = 3) -> dict[str, tuple[Timing, object]]:
    """Time several pieces of work in turns (A, B, C, A, B, C, ...), best of ``repeat`` each.

    Taking turns spreads a passing load from other processes over all of them, so their ratios
    are fairer than from runs one after the other.

    Parameters
    ----------
    cases : dict
        ``name -> (fn, n_threads, warmup_fn or None)``; ``n_threads`` None leaves numba's default.
    repeat : int

    Returns
    -------
    dict
        ``name -> (Timing, value of the last call)``.
    """
    for _fn, n, warm in cases.values():
        if warm is not None:
            with threads(n):
                warm()
    runs: dict[str, list[tuple[float, float]]] = {k: [] for k in cases}
    values: dict[str, object] = {}
    for _ in range(repeat):
        for name, (fn, n, _warm) in cases.items():
            with threads(n):
                c0, t0 = _cpu(), time.perf_counter()
                values[name] = fn()
                t1, c1 = time.perf_counter(), _cpu()
            runs[name].append((t1 - t0, c1 - c0))
    out = {}
    for name, r in runs.items():
        times = [w for w, _ in r]
        best = min(range(len(r)), key=lambda i: times[i])
        util = sum(c for _, c in r) / sum(times) if sum(times) > 0 else 0.0
        out[name] = (Timing(times[best], times, util, r[best][1], os.getloadavg()[0]), values[name])
    return out


@contextlib.contextmanager
def threads(n: int | None) -> Iterator[None]:
    """Run the block on ``n`` threads (None: leave it): the kernels' count
    (:mod:`incentsim.threads`) and numba's, which the random-number bound's ``prange`` uses."""
    from numba import get_num_threads, set_num_threads

    from incentsim.threads import thread_count_set

    before = get_num_threads()
    if n is not None:
        set_num_threads(n)
    try:
        with thread_count_set(n):
            yield
    finally:
        set_num_threads(before)


# -- the workload --------------------------------------------------------------------------------


@lru_cache(maxsize=4)
def scenario(path: str = str(SCENARIO)):
    """The benchmark scenario (loaded once)."""
    from incentsim import load_scenario

    return load_scenario(path)


def work(sc, replications: int) -> dict[str, float]:
    """Units of work in ``replications`` replications of a scenario.

    Returns
    -------
    dict
        ``rep_weeks`` (reps x simulated weeks, burn-in included), ``simulated_years`` (company-
        years, burn-in included) and ``recorded_years``.
    """
    sim = sc.simulation
    years = sim.burn_in_years + sim.horizon_years
    return {
        "rep_weeks": float(replications * years * 52 * sc.sales.reps),
        "simulated_years": float(replications * years),
        "recorded_years": float(replications * sim.horizon_years),
    }


def throughput(sc, replications: int, seconds: float) -> dict[str, float]:
    """Work per second: ``rep_weeks_per_s``, ``simulated_years_per_s``, ``recorded_years_per_s``."""
    return {f"{k}_per_s": v / seconds for k, v in work(sc, replications).items()}


@lru_cache(maxsize=8)
def solved(scheme: str = SCHEME, path: str = str(SCENARIO)):
    """The scheme's solved policy (``solve_policy``; solved once per process, outside any timing)."""
    from incentsim.model.policy import solve_policy

    sc = scenario(path)
    return solve_policy(sc, sc.scheme(scheme))


def run_kernel(sc, replications: int, behaviour: str = "fixed", scheme: str = SCHEME, seed: int = SEED):
    """One ``simulate`` call on the bundled scenario: fixed behaviour, or optimising with the
    policy solved beforehand (:func:`solved`), so only the kernel is timed."""
    from incentsim.simulation import simulate

    if behaviour == "fixed":
        return simulate(sc, scheme, replications=replications, seed=seed, behaviour="fixed")
    return simulate(sc, scheme, replications=replications, seed=seed, policy=solved(scheme).policy)


def time_kernel(sc, replications: int, behaviour: str = "fixed", repeat: int = 3, n_threads: int | None = None):
    """Best-of-``repeat`` time of :func:`run_kernel` after a warm-up call (that compiles or loads
    the kernel); returns ``(Timing, Results of the last run)``."""
    if behaviour != "fixed":
        solved(SCHEME)  # outside the timed part
    with threads(n_threads):
        run_kernel(sc, 64, behaviour)
        return timed(lambda: run_kernel(sc, replications, behaviour), repeat=repeat, warmup=False)


# -- the policy solver ---------------------------------------------------------------------------


@contextlib.contextmanager
def no_disk_cache() -> Iterator[None]:
    """Run the block with ``INCENTSIM_NO_CACHE=1`` (no calibration or policy read from disk)."""
    saved = os.environ.get("INCENTSIM_NO_CACHE")
    os.environ["INCENTSIM_NO_CACHE"] = "1"
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop("INCENTSIM_NO_CACHE", None)
        else:
            os.environ["INCENTSIM_NO_CACHE"] = saved


def time_calibrate_cold(sc) -> Timing:
    """``calibrate`` with no calibration cache (``INCENTSIM_NO_CACHE=1``, in-memory cache cleared);
    the numba DP kernels are loaded first so only the calibration itself is timed."""
    from incentsim.model import policy as P

    P.solve_policy(sc, sc.scheme(SCHEME))  # loads the DP kernels
    with no_disk_cache():

        def cold():
            P._CALIBRATION_CACHE.clear()
            return P.calibrate(sc)

        timing, _ = timed(cold, repeat=1, warmup=False)
    P._CALIBRATION_CACHE.clear()
    return timing


def time_solver(sc, scheme: str, repeat: int = 3) -> tuple[Timing, dict, Timing]:
    """``solve_policy`` for one scheme: solved (no policy cache; the calibration in memory), best of
    ``repeat``, and read back from the on-disk policy cache.

    Returns
    -------
    (Timing, dict, Timing)
        The solve, the solver's info (rounds, convergence), and the cache hit.
    """
    from incentsim.model.policy import calibrate, solve_policy

    calibrate(sc)  # into the in-memory cache (from disk or computed)
    solve_policy(sc, sc.scheme(scheme))  # fills the on-disk policy cache, if there is one
    cached, _ = timed(lambda: solve_policy(sc, sc.scheme(scheme)), repeat=repeat, warmup=False)
    with no_disk_cache():
        timing, sol = timed(lambda: solve_policy(sc, sc.scheme(scheme)), repeat=repeat, warmup=False)
    return timing, dict(sol.info), cached


def nearby_scenario(path: str = str(SCENARIO), key: tuple[str, ...] = ("funnel", "quote", "conversion"), step=0.01):
    """The benchmark scenario with one input moved a little (default: the quote conversion + 0.01):
    what a warm start starts from is the solved benchmark scenario."""
    import copy
    import tomllib

    from incentsim import scenario_from_dict

    data = copy.deepcopy(tomllib.loads(Path(path).read_text(encoding="utf-8")))
    table = data
    for k in key[:-1]:
        table = table[k]
    table[key[-1]] = table[key[-1]] + step
    return scenario_from_dict(data, source=f"{path} ({'.'.join(key)} {step:+g})")


def time_warm_starts(sc, near) -> dict:
    """Calibration and each scheme's solve of ``near``, cold and warm-started from ``sc`` solved.

    Cold: ``calibrate(near)`` and ``solve_policy(near, scheme, kappa=...)`` from nothing (no disk
    cache, in-memory calibration cleared; the DP kernels loaded first). Warm: ``calibrate(near,
    start=<the solve of sc's baseline scheme>)`` (what a chain of plausible worlds did until
    2026-11-30), also from ``sc``'s cost scales alone (``warm_from_costs``), and
    ``solve_policy(near, scheme, kappa=..., start=<solve of sc>)``. Calibrations: best of 3; solves:
    one run each (a solve costs seconds; ``cpu`` beside ``seconds``).

    Returns
    -------
    dict
        ``calibration``: ``{"cold": Timing, "warm": Timing, "warm_from_costs": Timing}``;
        ``schemes``: ``{name: {"cold": Timing, "warm": Timing, "rounds_cold", "rounds_warm"}}``.
    """
    from incentsim.model import policy as P

    def calibration(start=None):
        def run():
            P._CALIBRATION_CACHE.clear()
            return P.calibrate(near, start=start)

        return timed(run, repeat=3, warmup=False)

    with no_disk_cache():
        base_kappa = P.calibrate(sc)  # the solved neighbour (also loads the DP kernels)
        base = {name: P.solve_policy(sc, name, kappa=base_kappa) for name in sc.schemes}
        cold_cal, kappa = calibration()
        warm_cal, _ = calibration(start=base[sc.baseline_name])
        warm_costs, _ = calibration(start=base_kappa)
        P._CALIBRATION_CACHE.clear()
        schemes = {}
        for name in sc.schemes:
            cold, sol_c = timed(lambda n=name: P.solve_policy(near, n, kappa=kappa), repeat=1, warmup=False)
            warm, sol_w = timed(
                lambda n=name: P.solve_policy(near, n, kappa=kappa, start=base[n]), repeat=1, warmup=False
            )
            schemes[name] = {
                "cold": cold.to_dict(), "warm": warm.to_dict(),
                "rounds_cold": sol_c.info.get("rounds"), "rounds_warm": sol_w.info.get("rounds"),
            }  # fmt: skip
    calibrations = {"cold": cold_cal.to_dict(), "warm": warm_cal.to_dict(), "warm_from_costs": warm_costs.to_dict()}
    return {"nearby": near.source, "calibration": calibrations, "schemes": schemes}


def time_slowest_bundled_solve(scenario: str = "hr-bonus-structures", scheme: str = "quarterly-step") -> dict:
    """One cold solve of the slowest scheme of the bundled files (``quarterly-step``: two measure
    axes and the paid axis of a year-end true-up, 31 x 31 x 9 states), its calibration given and
    done first, with no disk cache (what ``python -m benchmarks.solve_times --scenario
    hr-bonus-structures --scheme quarterly-step`` times)."""
    from incentsim import load_scenario
    from incentsim.model import policy as P

    sc = load_scenario(ROOT / "scenarios" / f"{scenario}.toml")
    with no_disk_cache():
        kappa = P.calibrate(sc)
        timing, solved = timed(lambda: P.solve_policy(sc, scheme, kappa=kappa), repeat=1, warmup=False)
    axes = len(solved.info.get("state", {}).get("sales", {}).get("axes", []))
    return {
        "scenario": scenario, "scheme": scheme, "seconds": timing.best, "cores": timing.cpu_best / timing.best,
        "rounds": solved.info.get("rounds"), "axes": axes,
    }  # fmt: skip


# -- subprocesses: memory and the CLI --------------------------------------------------------------


def _env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env.update(extra)
    return env


def scaling_probe(replications: int, repeat: int, behaviour: str = "fixed") -> dict:
    """Time and peak memory of ``simulate`` at one size, in a fresh process.

    See :mod:`benchmarks.scaling_probe`. Returns its JSON: ``best``, ``times``, ``traced_peak``
    (bytes numpy allocated at the peak of the best-timed call, by tracemalloc),
    ``rss_before`` / ``rss_peak`` (bytes, ``ru_maxrss`` before and after the runs).
    """
    cmd = [
        sys.executable,
        "-m",
        "benchmarks.scaling_probe",
        str(replications),
        "--repeat",
        str(repeat),
        "--behaviour",
        behaviour,
    ]
    out = subprocess.run(cmd, cwd=ROOT, env=_env(), capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def incentsim_command() -> list[str]:
    """How to run the ``incentsim`` console script of this interpreter's environment."""
    exe = Path(sys.executable).with_name("incentsim")
    if exe.exists():
        return [str(exe)]
    return [sys.executable, "-c", "from incentsim.cli.main import main; main()"]


def time_cli_compare(replications: int = CLI_REPLICATIONS, warm_repeat: int = 2) -> dict:
    """``incentsim compare <bundled scenario>`` end to end, in subprocesses.

    Cold: the command as a new user types it (``replications = "auto"``, the default), with fresh,
    empty ``NUMBA_CACHE_DIR`` and ``INCENTSIM_CACHE_DIR`` (every kernel compiles, the calibration
    and policies are computed). Warm: the same folders again, the default run and ``--replications
    N`` (best of ``warm_repeat`` each), then the imports of warm default runs (``-X importtime``,
    the median of :data:`IMPORT_RUNS`) and one more warm N-replication run profiled by
    :mod:`benchmarks.cli_profile`.

    Returns
    -------
    dict
        ``cold`` / ``warm_auto`` / ``warm`` (seconds), ``*_replications``, ``cpu_util_*``,
        ``imports`` (:func:`import_times`) and ``warm_breakdown``.
    """
    base = incentsim_command() + ["compare", str(SCENARIO)]
    fixed = base + ["--replications", str(replications)]
    with tempfile.TemporaryDirectory(prefix="incentsim-bench-") as tmp:
        env = _env(NUMBA_CACHE_DIR=str(Path(tmp) / "numba"), INCENTSIM_CACHE_DIR=str(Path(tmp) / "cache"))
        env.pop("INCENTSIM_NO_CACHE", None)

        def once(cmd) -> tuple[float, float, int | None]:
            r0 = os.times()
            t0 = time.perf_counter()
            done = subprocess.run(cmd + ["--json", "-"], cwd=ROOT, env=env, check=True, capture_output=True, text=True)
            wall = time.perf_counter() - t0
            r1 = os.times()
            cpu = (r1.children_user - r0.children_user) + (r1.children_system - r0.children_system)
            try:
                n = json.loads(done.stdout)["replications"]
            except (ValueError, KeyError):
                n = None
            return wall, cpu / wall, n

        cold, util_cold, n_cold = once(base)
        warm_auto = min(once(base) for _ in range(warm_repeat))
        warm = min(once(fixed) for _ in range(warm_repeat))
        # Import time moves by +-20 % from one run to the next on a shared host: the median of
        # five runs, with all five kept.
        runs = sorted((import_times(base[len(incentsim_command()) :], env) for _ in range(IMPORT_RUNS)),
                      key=lambda r: r["seconds"])  # fmt: skip
        imports = {**runs[len(runs) // 2], "runs": [r["seconds"] for r in runs]}
        prof_cmd = [sys.executable, "-m", "benchmarks.cli_profile", *fixed[len(incentsim_command()) :]]
        done = subprocess.run(prof_cmd, cwd=ROOT, env=env, capture_output=True, text=True)
        try:
            breakdown = json.loads(done.stdout.strip().splitlines()[-1])
        except (IndexError, ValueError):
            breakdown = {}
    return {
        "replications": replications,
        "cold": cold,
        "cold_replications": n_cold,
        "cpu_util_cold": util_cold,
        "warm_auto": warm_auto[0],
        "warm_auto_replications": warm_auto[2],
        "cpu_util_warm_auto": warm_auto[1],
        "warm": warm[0],
        "cpu_util_warm": warm[1],
        "imports": imports,
        "warm_breakdown": breakdown,
        "load": os.getloadavg()[0],
    }


#: Warm runs whose imports :func:`time_cli_compare` measures (it reports the median run).
IMPORT_RUNS = 5


def import_times(args: list[str], env: dict[str, str]) -> dict:
    """Every import of one ``incentsim ARGS`` run (``python -X importtime``), summed.

    Returns
    -------
    dict
        ``seconds`` (the cumulative times of the top-level imports, i.e. all import work),
        ``top`` (the ten costliest top-level imports, seconds) and ``heavy`` (which of pandas,
        matplotlib, dask, scipy, pyarrow were imported).
    """
    # ``-X importtime`` also lists an import that failed (numba's refused scipy and yaml,
    # ``incentsim._numba_env``): what was loaded is read from ``sys.modules`` at exit.
    code = (
        "import atexit, sys\n"
        "atexit.register(lambda: print('LOADED ' + ' '.join(sorted({m.split('.')[0] for m, v in list(sys.modules.items()) "
        "if v is not None})), file=sys.stderr))\n"
        "from incentsim.cli.main import main; main()"
    )
    cmd = [sys.executable, "-X", "importtime", "-c", code, *args]
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    top: dict[str, float] = {}
    seen: set[str] = set()
    loaded: set[str] | None = None
    for line in done.stderr.splitlines():
        if line.startswith("LOADED "):
            loaded = set(line.split()[1:])
        if not line.startswith("import time:") or "|" not in line:
            continue
        _, cumulative, name = line.split("|", 2)
        try:
            us = int(cumulative.strip())
        except ValueError:
            continue
        seen.add(name.strip().split(".")[0])
        if not name.startswith("  "):  # nesting level 0: everything imported under it is in its time
            top[name.strip()] = top.get(name.strip(), 0.0) + us / 1e6
    if loaded is not None:
        seen = loaded
    heavy = sorted(m for m in ("pandas", "matplotlib", "dask", "distributed", "scipy", "pyarrow") if m in seen)
    best = dict(sorted(top.items(), key=lambda kv: -kv[1])[:10])
    return {"seconds": sum(top.values()), "top": best, "heavy": heavy}


def parallel_capacity(threads_wanted: int = 2) -> float:
    """CPU cores a compute-bound numba ``prange`` loop gets right now (about 0.2 s).

    Other jobs on a shared host need not show in this machine's process list, yet take cores:
    about 2.0 means both cores were ours; about 1.0 means any 2-thread figure measured now is
    really a 1-thread figure.
    """
    import numpy as np
    from numba import njit, prange

    @njit(parallel=True, cache=False)
    def spin(n, m):
        out = np.zeros(n)
        for i in prange(n):
            s = 0.0
            for j in range(m):
                s += np.sin(j * 1e-3 + i)
            out[i] = s
        return out

    with threads(threads_wanted):
        spin(4, 10)
        c0, t0 = _cpu(), time.perf_counter()
        spin(32, 300_000)
        wall = time.perf_counter() - t0
        return (_cpu() - c0) / wall if wall > 0 else 0.0


def environment() -> dict:
    """Machine, versions and the git state the figures were measured on."""
    import platform

    import numba
    import numpy

    def git(*args: str) -> str:
        try:
            return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            return ""

    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "numpy": numpy.__version__,
        "numba": numba.__version__,
        "numba_threads": numba.config.NUMBA_NUM_THREADS,
        "threading_layer": numba.config.THREADING_LAYER,
        "incentsim": incentsim.__version__,
        "git_commit": git("rev-parse", "--short", "HEAD"),
        "git_dirty_kernel": bool(git("status", "--porcelain", "src/incentsim/kernels")),
        "load_average": list(os.getloadavg()),
        "parallel_capacity": parallel_capacity(),
    }
