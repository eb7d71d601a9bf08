"""Count the random variates the kernel draws, per call site, by running the real kernel in Python.

Run in a fresh process (``python -m benchmarks.draw_counts``) with ``NUMBA_DISABLE_JIT=1``: the
kernel (``incentsim.kernels.funnel``) is then plain Python, and every sampler it imported from
``incentsim.kernels.rng`` (``_binomial``, ``_poisson``, ``_lognormal``, ``_uniform``, a funnel
stage's week ``_leave_advance``, the stream seeding, whatever their exact names) is replaced by a
counting wrapper that records, for every call, the kernel source line that made it, its parameters
and how many raw 64-bit generator outputs (steps of ``rng._step``, through ``rng._next_u64`` or in
registers; "uniforms" below) it consumed. The kernel's own loops that step a stream in registers,
one uniform per item (follow-up, hand-off), count each step as a uniform drawn at that line.
Counting the kernel itself (not a replica) keeps the counts right when the kernel changes. (Until
2026-11-29 only ``rng._next_u64`` was counted and ``_leave_advance`` was not wrapped: 2,150 of the
bundled ``shared`` scheme's 13,000 uniforms per replication were counted, and the bound built on the
counts took 0.15 s for 4,000 replications on 2 cores, against 0.50 s with every draw.)

A "variate" is one call of a sampler (a stage's week of ``n`` items is one, whatever ``n``) or one
in-register step of the kernel's own loops. The follow-up's per-appointment sort
(``funnel._follow_items``: one uniform per waiting appointment sorted into five outcomes, a
multinomial draw as a stage's ``_leave_advance`` is a three-outcome one) is a sampler too: one
variate per call, parameters ``(n, h, work, decay, recycle)``, replayed as the kernel draws it.
(Until 2026-11-30 its steps were counted as plain uniforms and the bound replayed them without the
sort, while it replayed the stages' sort: the bound's follow-up was 6 us a replication against the
kernel's 31, ``python -m benchmarks.report``.)

The summary (JSON) gives per call site: the section of the kernel (the function it is in), the
statement, calls, calls that actually drew (``n > 0`` and ``0 < p < 1``; ``lam > 0``), uniforms
consumed, and a stratified sample of the parameters of the drawing calls. :mod:`benchmarks.rng_bound`
replays those counts and parameters with no bookkeeping.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import sys
import warnings
from pathlib import Path

#: Sampler name fragments -> kind of draw (first match wins).
_SAMPLER_KINDS = (
    ("seed_stream", "seed"),
    ("leave_advance", "leave_advance"),
    ("binomial", "binomial"),
    # (exp(-lam) given, from the kernel's table: replayed so, not with an exp per draw)
    ("poisson_small_exp", "poisson_exp"),
    ("poisson", "poisson"),
    ("lognormal", "lognormal"),
    ("normal", "normal"),
    ("uniform", "uniform"),
    ("next_u64", "uniform"),
)

#: Parameter pairs kept per call site (order statistics of the drawing calls, sorted by size).
N_PARAMS = 64


#: Kernel functions run once at the start of a replication (the rest run every week).
_START_FUNCTIONS = ("_seed_streams", "_draw_abilities", "_start_pipeline", "_reset", "_start_scales")


def _sections(source_lines: list[str]) -> dict[int, str]:
    """Line number (1-based) -> the kernel section it belongs to: the kernel function the line is
    in (a stage of the week, such as ``_sales_stages``), or ``start / <function>`` for what runs
    once at a replication's start."""
    out = {}
    major = "start"
    for i, line in enumerate(source_lines, start=1):
        s = line.strip()
        if s.startswith("def "):
            name = s[4:].split("(")[0]
            major = f"start / {name}" if name in _START_FUNCTIONS else name
        out[i] = major
    return out


def count(scenario_path: str, scheme: str, replications: int, seed: int, policy=None, behaviour: str = "fixed") -> dict:
    """Run ``simulate`` with counting samplers (the process must have ``NUMBA_DISABLE_JIT=1``).

    Parameters
    ----------
    scenario_path : str
        Scenario file.
    scheme : str
        Scheme name.
    replications, seed : int
        Replications counted (burn-in included, as the kernel runs it) and root seed.
    policy : CompiledPolicy, optional
        A solved policy (optimising behaviour); default: the fixed policy.
    behaviour : str
        Label stored in the summary.

    Returns
    -------
    dict
        ``sites`` (list of per-call-site dicts), ``replications``, ``reps``, ``weeks``,
        ``rep_weeks``, ``streams_per_replication``, ``uniforms_per_replication`` (list) and totals.
    """
    import numpy as np

    from incentsim import load_scenario
    from incentsim.kernels import funnel as F
    from incentsim.kernels import rng as RNG
    from incentsim.simulation import simulate

    if not os.environ.get("NUMBA_DISABLE_JIT"):
        raise RuntimeError("run with NUMBA_DISABLE_JIT=1 (python -m benchmarks.draw_counts does)")
    warnings.filterwarnings("ignore")  # uint64 wrap-around in numpy scalars is intended
    kernel_file = F.__file__
    src = Path(kernel_file).read_text().splitlines()
    section = _sections(src)

    state = {"u": 0, "rep": -1}
    per_rep_u: list[int] = []
    sites: dict[int, dict] = {}

    # Count raw 64-bit generator outputs: every draw steps the generator with rng._step, through
    # rng._next_u64 or in registers (a sampler's loop, or the kernel's own one-uniform-per-item
    # steps: follow-up, hand-off).
    orig_step = RNG._step

    def step(s0, s1, s2, s3):
        state["u"] += 1
        return orig_step(s0, s1, s2, s3)

    def site(kind: str, s: int) -> dict:
        f = sys._getframe(2)
        while f is not None and f.f_code.co_filename != kernel_file:
            f = f.f_back
        line = f.f_lineno if f is not None else -1
        d = sites.get(line)
        if d is None:
            d = sites[line] = {
                "line": line,
                "kind": kind,
                "section": section.get(line, "?"),
                "code": src[line - 1].strip() if line > 0 else "?",
                "stream": int(s),
                "rows": set(),
                "calls": 0,
                "drawing_calls": 0,
                "uniforms": 0,
                "params": [],
            }
        return d

    inside_sampler = {"on": False}

    def wrap(kind, orig, params_of, row_of=None):
        """``orig`` counted as one ``kind`` draw per call (the stream row from its arguments, or
        ``row_of()``: a kernel-side sampler stepping words loaded before it, whose steps the
        kernel-step counter below then leaves to this wrapper)."""

        def wrapper(*args):
            row = int(args[6] if kind == "seed" else args[1]) if row_of is None else row_of()
            d = site(kind, row)
            u0 = state["u"]
            if row_of is None:
                out = orig(*args)
            else:
                inside_sampler["on"] = True
                try:
                    out = orig(*args)
                finally:
                    inside_sampler["on"] = False
            used = state["u"] - u0
            d["calls"] += 1
            d["uniforms"] += used
            if kind == "seed":
                d["rows"].add(row)
            if used > 0 or kind == "seed":
                d["drawing_calls"] += 1
                if kind != "seed":
                    d["params"].append(params_of(args))
            return out

        return wrapper

    RNG._step = step
    uniform = RNG._uniform  # counts through _step (used below for the bound's replay)
    # Wrap every sampler the kernel module imported from rng, whatever its name. Parameters:
    # three per draw ((n, p, 0), (lam, 0, 0), (mu, sigma, 0), (n, h, p) of a stage's step; the
    # follow-up's sort, below, five).
    params_of = {
        "seed": lambda a: (0.0, 0.0, 0.0),
        "leave_advance": lambda a: (float(a[2]), float(a[3]), float(a[4])),
        "binomial": lambda a: (float(a[2]), float(a[3]), 0.0),
        "poisson": lambda a: (float(a[2]), 0.0, 0.0),
        "poisson_exp": lambda a: (float(a[2]), float(a[3]), 0.0),
        "lognormal": lambda a: (float(a[2]), float(a[3]), 0.0),
        "normal": lambda a: (0.0, 1.0, 0.0),
        "uniform": lambda a: (0.0, 0.0, 0.0),
    }
    for name, obj in list(vars(F).items()):
        if not callable(obj) or getattr(obj, "__module__", "") != RNG.__name__:
            continue
        kind = next(
            (k for key, k in _SAMPLER_KINDS if key in name),
            None,
        )
        if kind is not None:
            setattr(F, name, wrap(kind, getattr(RNG, name), params_of[kind]))
    # The kernel's own loops that step a stream in registers (one uniform per item): each step is
    # a uniform drawn at the kernel line that steps, from the stream whose words it loaded.
    loaded = {"row": 0}
    orig_words = F._words

    def words(states, s):
        loaded["row"] = int(s)
        return orig_words(states, s)

    def kernel_step(s0, s1, s2, s3):
        if inside_sampler["on"]:  # a step of a kernel-side sampler (counted by its wrapper)
            state["u"] += 1
            return orig_step(s0, s1, s2, s3)
        d = site("uniform", loaded["row"])
        state["u"] += 1
        d["calls"] += 1
        d["drawing_calls"] += 1
        d["uniforms"] += 1
        d["params"].append((0.0, 0.0, 0.0))
        return orig_step(s0, s1, s2, s3)

    F._words = words
    F._step = kernel_step
    # The follow-up's sort: one draw per call, from the stream whose words were loaded for it;
    # arguments (s0, s1, s2, s3, n, n_first, h, decay, work, recycle).
    F._follow_items = wrap(
        "follow_items",
        F._follow_items,
        lambda a: (float(a[4]), float(a[6]), float(a[8]), float(a[7]), float(a[9])),
        row_of=lambda: loaded["row"],
    )
    # A replication starts with _reset (in _simulate's loop): the uniforms between two starts, and
    # from the last start to the end of the run, are one replication's.
    orig_reset = F._reset
    started = {"u": None}

    def reset(*args):
        if started["u"] is not None:
            per_rep_u.append(state["u"] - started["u"])
        started["u"] = state["u"]
        return orig_reset(*args)

    F._reset = reset

    sc = load_scenario(scenario_path)
    kw = {"policy": policy} if policy is not None else {"behaviour": "fixed"}
    simulate(sc, scheme, replications=replications, seed=seed, chunk=replications, **kw)
    per_rep_u.append(state["u"] - started["u"])

    sim = sc.simulation
    weeks = (sim.burn_in_years + sim.horizon_years) * 52
    R = sc.sales.reps
    out_sites = []
    for line in sorted(sites):
        d = sites[line]
        params = np.asarray(d.pop("params") or [(0.0, 0.0, 0.0)], dtype=float)  # (calls, 3 or 5)
        order = np.argsort(
            params[:, 0] * np.maximum(params[:, 1], 1e-300) if d["kind"] == "binomial" else params[:, 0],
            kind="stable",
        )
        pick = order[np.linspace(0, len(order) - 1, min(N_PARAMS, len(order))).round().astype(int)]
        chosen = params[pick]
        if d["kind"] == "binomial":
            n_, p_ = params[:, 0], params[:, 1]
            pm = np.minimum(p_, 1.0 - p_)
            d["mean_n"] = float(n_.mean()) if d["drawing_calls"] else 0.0
            d["mean_np"] = float((n_ * pm).mean()) if d["drawing_calls"] else 0.0
            d["btpe_share"] = float(np.mean(n_ * pm > 30.0)) if d["drawing_calls"] else 0.0
        elif d["kind"] in ("poisson", "poisson_exp"):
            d["mean_lambda"] = float(params[:, 0].mean()) if d["drawing_calls"] else 0.0
            d["ptrs_share"] = float(np.mean(params[:, 0] >= 10.0)) if d["drawing_calls"] else 0.0
        d["rows"] = sorted(d["rows"])
        d["per_replication"] = d["drawing_calls"] / replications
        d["calls_per_replication"] = d["calls"] / replications
        d["uniforms_per_replication"] = d["uniforms"] / replications
        d["param_sample"] = chosen.tolist()
        out_sites.append(d)
    u = np.asarray(per_rep_u, dtype=float)
    summary = {
        "scenario": str(scenario_path),
        "scheme": scheme,
        "behaviour": behaviour,
        "replications": replications,
        "seed": seed,
        "reps": R,
        "weeks": weeks,
        "rep_weeks_per_replication": R * weeks,
        "streams_per_replication": sum(d["calls"] for d in out_sites if d["kind"] == "seed") / replications,
        "seed_rows": sorted({r for d in out_sites if d["kind"] == "seed" for r in d["rows"]}),
        "uniforms_per_replication": float(u.mean()),
        "uniforms_per_replication_cv": float(u.std() / u.mean()) if u.mean() > 0 else 0.0,
        "variates_per_replication": sum(d["per_replication"] for d in out_sites if d["kind"] != "seed"),
        "sites": out_sites,
    }
    # Replay the draws-only bound in Python with the same counting uniform: does it consume as
    # many uniforms (that is, do the same sampler work) as the kernel?
    from . import rng_bound

    rng_bound._uniform = uniform  # (the other samplers reach rng._step, which counts)
    plan = rng_bound.plan_from_counts(summary)
    n_check = min(5, replications)
    u0 = state["u"]
    rng_bound.run_bound(plan, n_check)
    summary["bound_uniforms_per_replication"] = (state["u"] - u0) / n_check
    return summary


def count_in_subprocess(
    scenario_path: str, scheme: str, replications: int, seed: int, policy=None, behaviour: str = "fixed"
) -> dict:
    """:func:`count` in a fresh ``NUMBA_DISABLE_JIT=1`` process (the policy goes by pickle)."""
    import subprocess
    import tempfile

    root = Path(__file__).resolve().parent.parent
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "counts.json"
        cmd = [
            sys.executable,
            "-m",
            "benchmarks.draw_counts",
            str(scenario_path),
            scheme,
            "--replications",
            str(replications),
            "--seed",
            str(seed),
            "--out",
            str(out),
            "--behaviour",
            behaviour,
        ]
        if policy is not None:
            pol = Path(tmp) / "policy.pkl"
            pol.write_bytes(pickle.dumps(policy))
            cmd += ["--policy", str(pol)]
        env = dict(os.environ, NUMBA_DISABLE_JIT="1")
        env["PYTHONPATH"] = os.pathsep.join([str(root), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
        done = subprocess.run(cmd, cwd=root, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"draw counting failed:\n{done.stderr[-3000:]}")
        return json.loads(out.read_text())


def main(argv: list[str] | None = None) -> None:
    """Command line: count draws and write the JSON summary."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("scenario")
    ap.add_argument("scheme")
    ap.add_argument("--replications", type=int, default=40)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--policy", help="pickled CompiledPolicy (optimising behaviour)")
    ap.add_argument("--behaviour", default="fixed")
    ap.add_argument("--out", default="-")
    a = ap.parse_args(argv)
    policy = pickle.loads(Path(a.policy).read_bytes()) if a.policy else None
    res = count(a.scenario, a.scheme, a.replications, a.seed, policy, a.behaviour)
    text = json.dumps(res, indent=1)
    if a.out == "-":
        print(text)
    else:
        Path(a.out).write_text(text)


if __name__ == "__main__":
    main()
