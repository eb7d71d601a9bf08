# ruff: noqa: E501  (long f-strings of the printed table read better unbroken)
"""One table of incentsim's speed, with the ratios to the reference and to the limit.

``python -m benchmarks.report [--out PATH] [--quick] [--skip-cli] [--skip-scaling] [--skip-fresh]
[--ablation]`` (or ``make bench-report``) measures, once, on the bundled 8-rep company (fixed
behaviour unless stated):

* a new user's first run (:mod:`benchmarks.fresh_machine`): a fresh clone with an empty home
  folder, ``make install``, then ``make demo`` in a pseudo-terminal (its time, and the longest
  stretch without output), then a second ``incentsim compare``;
* the kernel (``simulate``, after a warm-up call) on all cores and on one thread, with fixed and
  with optimising behaviour (policy solved beforehand);
* the vectorised-numpy reference on the same work, and whether its wins/revenue/... have the same
  distribution as the kernel's;
* the random-number bound (:mod:`benchmarks.rng_bound`: the kernel's draws, counted by
  :mod:`benchmarks.draw_counts`, with no bookkeeping), on all cores and one thread, with the
  stream seeding alone and each kernel section alone (where the time goes);
* time and peak memory at 1k, 10k and 100k replications (fresh processes);
* the policy solver: calibration and each scheme's solve of a nearby scenario, cold and
  warm-started from the solved benchmark scenario (``start=``), and a read from the policy cache;
  and the slowest solve of the bundled files, cold (``hr-bonus-structures``' ``quarterly-step``);
* ``incentsim compare`` end to end: the default run (``replications = "auto"``) with cold caches,
  then warm, and 10,000 replications warm; the imports of a warm run (``-X importtime``).

It prints first every figure of issue 17 (where users wait) with its target and PASS/FAIL and the
cores and load it ran on (a figure measured on a shared machine is marked and is no claim), then
the detailed table with PASS/FAIL against each target (``configurations.TARGETS``), and writes
every figure as JSON (default ``benchmarks/results/latest.json``; not committed). Timings are the
best of a few runs; ``cpu_util`` (CPU seconds over wall seconds) and the load average are stored
beside them because this machine is shared.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from . import harness as H
from .configurations import (
    CHECK_REPLICATIONS,
    CLI_REPLICATIONS,
    COMPARE_REPLICATIONS,
    COUNT_REPLICATIONS,
    REPEAT,
    SCENARIO,
    SCHEME,
    SEED,
    SIZES,
    TARGETS,
)

DEFAULT_OUT = Path(__file__).resolve().parent / "results" / "latest.json"


def _log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def _fmt(x: float | None, digits: int = 2) -> str:
    if x is None:
        return "-"
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    return f"{x:.{digits}f}"


def measure(
    quick: bool = False, skip_cli: bool = False, skip_scaling: bool = False, ablation: bool = False,
    skip_fresh: bool = False,
) -> dict:  # fmt: skip
    """Run every measurement once; return the figures as a JSON-ready dict."""
    from incentsim.simulation import simulate

    from .draw_counts import count_in_subprocess
    from .reference_numpy import compare_distributions, kernel_fields, simulate_numpy
    from .rng_bound import plan_from_counts, time_bound

    n = 400 if quick else COMPARE_REPLICATIONS
    repeat = 1 if quick else REPEAT
    sizes = {k: v // 100 for k, v in SIZES.items()} if quick else dict(SIZES)
    sc = H.scenario()
    out: dict = {
        "environment": H.environment(),
        "scenario": str(SCENARIO.relative_to(H.ROOT)),
        "scheme": SCHEME,
        "replications": n,
        "work": H.work(sc, n),
        "quick": quick,
    }
    fig: dict = {}
    out["figures"] = fig

    # -- a new user's first run: fresh clone, empty home, make install, make demo in a terminal -------
    if not skip_fresh:
        from .fresh_machine import measure as fresh

        _log("fresh machine: clone, make install, make demo in a terminal, a second compare (empty home)")
        out["fresh"] = fresh()

    # -- draws the kernel makes (the real kernel, run in Python with counting samplers) --------
    _log("counting the kernel's draws (NUMBA_DISABLE_JIT subprocess)")
    counts = count_in_subprocess(str(SCENARIO), SCHEME, 4 if quick else COUNT_REPLICATIONS, SEED)
    out["draws"] = counts
    opt_policy = H.solved(SCHEME).policy
    counts_opt = count_in_subprocess(
        str(SCENARIO), SCHEME, 4 if quick else COUNT_REPLICATIONS, SEED, opt_policy, "optimising"
    )
    out["draws_optimising"] = counts_opt

    # -- head to head, in turns: kernel, random-number bound, numpy reference ---------------------
    from .harness import run_kernel
    from .rng_bound import run_bound

    plan = plan_from_counts(counts)
    plan_opt = plan_from_counts(counts_opt)
    zeros = np.zeros(plan.kind.shape[0], np.int64)
    _log(
        f"fixed behaviour, {n} replications, in turns: kernel and random-number bound on all cores and on "
        f"1 thread, numpy reference; best of {repeat}"
    )
    cases = {
        "kernel_fixed_all": (lambda: run_kernel(sc, n, "fixed"), None, lambda: run_kernel(sc, 64, "fixed")),
        "rng_bound_all": (lambda: run_bound(plan, n), None, lambda: run_bound(plan, 8)),
        "kernel_fixed_1thread": (lambda: run_kernel(sc, n, "fixed"), 1, None),
        "rng_bound_1thread": (lambda: run_bound(plan, n), 1, None),
        "numpy_reference": (lambda: simulate_numpy(sc, SCHEME, n, seed=SEED), None, None),
        "rng_seeding_only": (lambda: run_bound(plan, n, active=zeros), None, None),
    }
    timings = H.interleaved(cases, repeat)
    for name, (t, _v) in timings.items():
        fig[name] = {"timing": t.to_dict(), **H.throughput(sc, n, t.best)}
    res_k = timings["kernel_fixed_all"][1]
    ref = timings["numpy_reference"][1]
    t_k1 = timings["kernel_fixed_1thread"][0]
    tb1 = timings["rng_bound_1thread"][0]

    _log("optimising behaviour (policy solved beforehand), in turns: kernel and its random-number bound")
    cases = {
        "kernel_optimising_all": (
            lambda: run_kernel(sc, n, "optimising"),
            None,
            lambda: run_kernel(sc, 64, "optimising"),
        ),
        "rng_bound_optimising_all": (lambda: run_bound(plan_opt, n), None, lambda: run_bound(plan_opt, 8)),
    }
    for name, (t, _v) in H.interleaved(cases, repeat).items():
        fig[name] = {"timing": t.to_dict(), **H.throughput(sc, n, t.best)}

    # -- the numpy reference has the kernel's distribution ------------------------------------------
    n_check = n if quick else CHECK_REPLICATIONS
    if n_check != n:
        ref = simulate_numpy(sc, SCHEME, n_check, seed=SEED)
        res_k = simulate(sc, SCHEME, replications=n_check, seed=SEED + 1, behaviour="fixed")
    check = compare_distributions(kernel_fields(res_k), ref)
    out["distribution_check"] = {
        "replications": n_check,
        "kernel_seed": SEED,
        "numpy_seed": SEED,
        "rule": "|z| < 4 and |var ratio - 1| <= 0.15",
        "fields": check,
        "all_ok": all(r["ok"] for r in check.values()),
    }

    _log("where the bound's time goes: each kernel section alone, 1 thread")
    n_sec = max(100, n // 4)
    t_seed_sec = time_bound(plan, n_sec, repeat, threads=1, active=zeros).best
    sections = {}
    for name in dict.fromkeys(plan.section):
        mask = np.array([1 if s == name else 0 for s in plan.section], np.int64)
        t = time_bound(plan, n_sec, repeat, threads=1, active=mask).best
        sel = [s for s in counts["sites"] if s["section"] == name and s["kind"] != "seed"]
        sections[name] = {
            "seconds_per_replication": max(t - t_seed_sec, 0.0) / n_sec,
            "variates_per_replication": sum(s["per_replication"] for s in sel),
            "calls_per_replication": sum(s["calls_per_replication"] for s in sel),
            "uniforms_per_replication": sum(s["uniforms_per_replication"] for s in sel),
        }
    sections["stream seeding"] = {
        "seconds_per_replication": t_seed_sec / n_sec,
        "variates_per_replication": 0.0,
        "calls_per_replication": counts["streams_per_replication"],
        "uniforms_per_replication": 0.0,
    }
    total_sec = sum(v["seconds_per_replication"] for v in sections.values())
    for v in sections.values():
        v["share_of_bound"] = v["seconds_per_replication"] / total_sec if total_sec > 0 else 0.0
        v["ns_per_variate"] = (
            v["seconds_per_replication"] / v["variates_per_replication"] * 1e9
            if v["variates_per_replication"]
            else None
        )
    out["profile"] = {
        "replications": n_sec,
        "threads": 1,
        "sections": sections,
        "kernel_seconds_per_replication": t_k1.best / n,
        "bound_seconds_per_replication": tb1.best / n,
        "bookkeeping_share_of_kernel": max(0.0, 1.0 - tb1.best / t_k1.best),
    }

    if ablation:
        _log("kernel stages: cycles per stage of the week (benchmarks.kernel_sections, 1 thread)")
        from .kernel_sections import run as sections_run

        out["ablation"] = sections_run(replications=200 if quick else n // 2)

    _log("sampler alternatives (benchmarks.samplers_lab), 1 thread")
    from .samplers_lab import run as lab_run

    out["samplers_lab"] = lab_run(calls=100_000 if quick else 400_000, repeat=repeat)

    # -- how cost grows ------------------------------------------------------------------------------
    if not skip_scaling:
        scaling = {}
        for name, size in sizes.items():
            _log(f"scaling: {size} replications in a fresh process")
            r = 2 if size >= 50_000 and not quick else repeat
            scaling[name] = H.scaling_probe(size, r)
            scaling[name].update(H.throughput(sc, size, scaling[name]["best"]))
        out["scaling"] = scaling

    # -- the policy solver -----------------------------------------------------------------------------
    near = H.nearby_scenario()
    _log(f"policy solver: calibrate and solve_policy per scheme on {near.source}, cold and warm-started")
    out["solver"] = H.time_warm_starts(sc, near)
    from incentsim.model.policy import solve_policy

    for name in sc.schemes:
        solve_policy(sc, name)  # into the on-disk policy cache
        cached, _ = H.timed(lambda n=name: solve_policy(sc, n), repeat=repeat, warmup=False)
        out["solver"]["schemes"][name]["cached"] = cached.to_dict()
    out["solver"]["slowest_bundled"] = H.time_slowest_bundled_solve()

    # -- the CLI end to end ------------------------------------------------------------------------------
    if not skip_cli:
        _log(
            f"incentsim compare: default replications with cold caches, then warm: default and "
            f"{CLI_REPLICATIONS if not quick else 1000} replications; imports"
        )
        out["cli"] = H.time_cli_compare(CLI_REPLICATIONS if not quick else 1000, warm_repeat=1 if quick else 2)

    out["ratios"] = ratios(out)
    out["environment"]["load_average_end"] = list(__import__("os").getloadavg())
    out["environment"]["parallel_capacity_end"] = H.parallel_capacity()
    return out


def ratios(out: dict) -> dict:
    """The ratios with their targets, from the figures (None where not measured)."""
    f = out["figures"]
    k2 = f["kernel_fixed_all"]["timing"]["best"]
    r: dict[str, float | None] = {
        "kernel_vs_numpy": f["numpy_reference"]["timing"]["best"] / k2,
        "kernel_vs_rng_bound": f["rng_bound_all"]["timing"]["best"] / k2,
        "threads_2_vs_1": f["kernel_fixed_1thread"]["timing"]["best"] / k2,
        "per_replication_drift": None,
        "memory_per_replication_year": None,
        "compare_warm_seconds": out.get("cli", {}).get("warm"),
        "fresh_demo_seconds": (out.get("fresh") or {}).get("demo_seconds"),
        "fresh_demo_longest_silence": (out.get("fresh") or {}).get("demo_longest_silence"),
        "fresh_second_compare_seconds": (out.get("fresh") or {}).get("second_compare_seconds"),
        "compare_cold_seconds": out.get("cli", {}).get("cold"),
        "compare_imports_seconds": (out.get("cli", {}).get("imports") or {}).get("seconds"),
        "company_years_per_minute_optimising": f["kernel_optimising_all"]["recorded_years_per_s"] * 60.0,
        "calibration_cold_seconds": out["solver"]["calibration"]["cold"]["best"],
        "calibration_warm_seconds": out["solver"]["calibration"]["warm"]["best"],
    }
    sc = out.get("scaling")
    if sc:
        names = list(sc)
        lo, hi = sc[names[0]], sc[names[-1]]
        per_lo = lo["best"] / lo["replications"]
        per_hi = hi["best"] / hi["replications"]
        r["per_replication_drift"] = abs(per_hi / per_lo - 1.0)
        years = (hi["replications"] - lo["replications"]) * hi["horizon_years"]
        r["memory_per_replication_year"] = (hi["traced_peak"] - lo["traced_peak"]) / years
    extra = {
        "kernel_1thread_vs_numpy": f["numpy_reference"]["timing"]["best"] / f["kernel_fixed_1thread"]["timing"]["best"],
        "rng_bound_vs_numpy": f["numpy_reference"]["timing"]["best"] / f["rng_bound_all"]["timing"]["best"],
        "rng_bound_threads_2_vs_1": f["rng_bound_1thread"]["timing"]["best"] / f["rng_bound_all"]["timing"]["best"],
        "kernel_optimising_vs_rng_bound": f["rng_bound_optimising_all"]["timing"]["best"]
        / f["kernel_optimising_all"]["timing"]["best"],
        # CPU seconds instead of wall seconds: what each implementation costs in core time, which a
        # busy machine does not distort (a 2-thread run that got 1.2 cores still shows its work).
        "kernel_vs_numpy_cpu": f["numpy_reference"]["timing"]["cpu_best"] / f["kernel_fixed_all"]["timing"]["cpu_best"],
        "kernel_vs_rng_bound_cpu": f["rng_bound_all"]["timing"]["cpu_best"]
        / f["kernel_fixed_all"]["timing"]["cpu_best"],
    }
    if sc:
        lo, hi = sc[list(sc)[0]], sc[list(sc)[-1]]
        grow = (hi["rss_after"] - hi["rss_before"]) - (lo["rss_after"] - lo["rss_before"])
        extra["rss_per_replication_year"] = grow / ((hi["replications"] - lo["replications"]) * hi["horizon_years"])
    status = {k: TARGETS[k].passes(v) for k, v in r.items()}
    return {"values": r, "status": status, "extra": extra}


def loaded(out: dict) -> str | None:
    """Why the figures were measured on a shared machine (None when it looked idle)."""
    env = out["environment"]
    cores = env.get("cores") or 1
    loads = [env["load_average"][0], env.get("load_average_end", [0.0])[0]]
    caps = [c for c in (env.get("parallel_capacity"), env.get("parallel_capacity_end")) if c is not None]
    why = []
    if max(loads) > 0.5 * cores:
        why.append(f"load average {loads[0]:.1f} at start and {loads[1]:.1f} at end on {cores} cores")
    if caps and min(caps) < 1.8:
        why.append(f"a 2-thread loop got {min(caps):.2f} cores")
    return "; ".join(why) or None


def issue_table(out: dict) -> str:
    """Every figure of issue 17 (where users wait) with its target and PASS/FAIL, and what it ran on."""
    val, st = out["ratios"]["values"], out["ratios"]["status"]
    busy = loaded(out)

    def fmt(key: str) -> str:
        v = val.get(key)
        if v is None:
            return "not measured"
        t = TARGETS[key]
        if t.unit == "x":
            return f"{v:.2f}x"
        if key == "kernel_vs_rng_bound":
            return f"{100 * v:.0f} %"
        if key == "company_years_per_minute_optimising":
            return f"{v:,.0f}"
        return f"{v:.2f}{t.unit}"

    def target(key: str) -> str:
        t = TARGETS[key]
        thr = f"{100 * t.threshold:.0f} %" if key == "kernel_vs_rng_bound" else f"{_fmt(t.threshold)}{t.unit}"
        return f"{'>=' if t.higher_is_better else '<='} {thr}"

    def status(key: str) -> str:
        s = st.get(key)
        if s is None:
            return "-"
        return ("PASS" if s else "FAIL") + ("*" if busy else "")

    rows = [
        ("make demo, fresh clone + empty home, after make install", "fresh_demo_seconds"),
        ("  longest silence on the terminal during make demo", "fresh_demo_longest_silence"),
        ("  a second incentsim compare after it", "fresh_second_compare_seconds"),
        ("first incentsim compare, cold caches (default replications)", "compare_cold_seconds"),
        ("warm incentsim compare, 10,000 replications x 3 schemes", "compare_warm_seconds"),
        ("  imports on the compare path", "compare_imports_seconds"),
        ("kernel vs vectorised numpy, all cores", "kernel_vs_numpy"),
        ("kernel vs the random-number bound", "kernel_vs_rng_bound"),
        ("2 threads vs 1", "threads_2_vs_1"),
        ("recorded 8-rep company-years per minute, optimising", "company_years_per_minute_optimising"),
        ("calibration, cold", "calibration_cold_seconds"),
        ("calibration, warm-started from a nearby solved scenario", "calibration_warm_seconds"),
    ]
    body = [(name, fmt(key), target(key), status(key)) for name, key in rows]
    sol = out["solver"]["schemes"]
    for name, s in sol.items():
        body.append((f"solve '{name}', cold / warm-started", f"{s['cold']['best']:.2f} / {s['warm']['best']:.2f} s",
                     "(reported)", "-"))  # fmt: skip
    slow = out["solver"].get("slowest_bundled")
    if slow:
        body.append(
            (f"solve '{slow['scheme']}' ({slow['scenario']}), cold", f"{slow['seconds']:.2f} s", "(reported)", "-")
        )
    fresh = out.get("fresh") or {}
    env = out["environment"]
    head = ("figure (issue 17)", "value", "target", "status")
    widths = [max(len(r[i]) for r in [head, *body]) for i in range(4)]
    lines = [
        f"Ran on {env['cpu']}, {env['cores']} cores; load average {env['load_average'][0]:.1f} at start, "
        f"{env.get('load_average_end', [float('nan')])[0]:.1f} at end; a 2-thread numba loop got "
        f"{env.get('parallel_capacity', float('nan')):.2f} cores at start, "
        f"{env.get('parallel_capacity_end', float('nan')):.2f} at end."
    ]
    lines.append("  ".join(h.ljust(w) for h, w in zip(head, widths, strict=True)).rstrip())
    lines.append("  ".join("-" * w for w in widths))
    for r in body:
        lines.append("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
    if fresh.get("demo_replications"):
        lines.append(
            f"make demo ran {fresh['demo_replications']:,} replications ({fresh.get('demo_precision') or 'fixed'}); "
            f"make install took {fresh.get('install_seconds', float('nan')):.0f} s; first output after "
            f"{fresh.get('demo_first_output') or float('nan'):.1f} s; load average "
            f"{fresh['load_before'][0]:.1f} before, {fresh['load_after'][0]:.1f} after."
        )
    if fresh.get("error"):
        lines.append(f"fresh machine: {fresh['error'][:300]}")
    if busy:
        lines.append(
            f"* measured while the machine was shared ({busy}): these are not claims that a target is met "
            "or missed; rerun on an idle machine before quoting them."
        )
    return "\n".join(lines)


def table(out: dict) -> str:
    """The one table: figures, throughput, and ratios beside their targets."""
    f = out["figures"]
    rat = out["ratios"]
    val, st = rat["values"], rat["status"]
    n = out["replications"]

    k2 = f["kernel_fixed_all"]["timing"]
    busy = (k2.get("cpu_best") or 0.0) / k2["best"] < 1.8 if k2["best"] else False
    cli_busy = (out.get("cli") or {}).get("cpu_util_warm", 2.0) < 1.5
    needs_two = {"kernel_vs_numpy", "kernel_vs_rng_bound", "threads_2_vs_1"}

    def mark(key: str) -> str:
        s = st.get(key)
        if s is None:
            return "-"
        text = "PASS" if s else "FAIL"
        if (key in needs_two and busy) or (key == "compare_warm_seconds" and cli_busy):
            text += " (busy)"  # measured while another job had part of the machine
        return text

    def target(key: str) -> str:
        t = TARGETS[key]
        return f"{'>=' if t.higher_is_better else '<='} {_fmt(t.threshold)}{t.unit}"

    rows = []

    def row(name, fig=None, seconds=None, ratio="", key=None, cores=None):
        if fig is not None:
            seconds = fig["timing"]["best"]
            thr = (
                _fmt(fig["rep_weeks_per_s"] / 1e6),
                _fmt(fig["simulated_years_per_s"], 0),
                _fmt(fig["recorded_years_per_s"], 0),
            )
            cpu = fig["timing"].get("cpu_best")
            cores = cpu / seconds if cpu and seconds else cores
        else:
            thr = ("", "", "")
        rows.append(
            (
                name,
                _fmt(seconds, 3) if seconds is not None else "",
                "" if cores is None else f"{cores:.2f}",
                *thr,
                ratio,
                target(key) if key else "",
                mark(key) if key else "",
            )
        )

    row(f"kernel, fixed, all cores ({n:,} repl.)", f["kernel_fixed_all"], ratio="1 (base)")
    row(
        "numpy reference, fixed, same work",
        f["numpy_reference"],
        ratio=f"kernel {_fmt(val['kernel_vs_numpy'])}x faster",
        key="kernel_vs_numpy",
    )
    row(
        "random-number bound, all cores",
        f["rng_bound_all"],
        ratio=f"kernel at {_fmt(100 * val['kernel_vs_rng_bound'], 0)}% of bound",
        key="kernel_vs_rng_bound",
    )
    row(
        "  of which stream seeding alone",
        f["rng_seeding_only"],
        ratio=f"{_fmt(100 * f['rng_seeding_only']['timing']['best'] / f['rng_bound_all']['timing']['best'], 1)}% of bound",
    )
    row(
        "kernel, fixed, 1 thread",
        f["kernel_fixed_1thread"],
        ratio=f"2 vs 1 threads {_fmt(val['threads_2_vs_1'])}x",
        key="threads_2_vs_1",
    )
    row(
        "random-number bound, 1 thread",
        f["rng_bound_1thread"],
        ratio=f"2 vs 1 threads {_fmt(rat['extra']['rng_bound_threads_2_vs_1'])}x",
    )
    row(
        "kernel, optimising, all cores",
        f["kernel_optimising_all"],
        ratio=f"at {_fmt(100 * rat['extra']['kernel_optimising_vs_rng_bound'], 0)}% of its bound",
    )
    row("random-number bound, optimising draws", f["rng_bound_optimising_all"])
    sc = out.get("scaling")
    if sc:
        names = list(sc)
        base = sc[names[0]]["best"] / sc[names[0]]["replications"]
        for i, name in enumerate(names):
            s = sc[name]
            per = s["best"] / s["replications"]
            fig = {
                "timing": {"best": s["best"], "cpu_best": s.get("cpu_best")},
                **{k: s[k] for k in ("rep_weeks_per_s", "simulated_years_per_s", "recorded_years_per_s")},
            }
            last = i == len(names) - 1
            row(
                f"scaling {name}: {s['replications']:,} repl. (fresh process)",
                fig,
                ratio=f"{per * 1e6:,.0f} us/repl. ({per / base - 1:+.0%}); peak {s['traced_peak'] / 2**20:,.1f} MiB",
                key="per_replication_drift" if last else None,
            )
        row(
            "  memory growth per replication-year",
            seconds=None,
            ratio=f"{_fmt(val['memory_per_replication_year'], 0)} B numpy (RSS {_fmt(rat['extra']['rss_per_replication_year'], 0)} B)",
            key="memory_per_replication_year",
        )
    sol = out["solver"]
    cal = sol["calibration"]
    row("calibrate a nearby scenario, cold", seconds=cal["cold"]["best"], key="calibration_cold_seconds",
        cores=cal["cold"]["cpu_best"] / cal["cold"]["best"])  # fmt: skip
    row("  warm-started from the solved benchmark scenario's baseline", seconds=cal["warm"]["best"],
        key="calibration_warm_seconds", cores=cal["warm"]["cpu_best"] / cal["warm"]["best"])  # fmt: skip
    if "warm_from_costs" in cal:
        row("  warm-started from its cost scales alone", seconds=cal["warm_from_costs"]["best"],
            cores=cal["warm_from_costs"]["cpu_best"] / cal["warm_from_costs"]["best"])  # fmt: skip
    for name, s in sol["schemes"].items():
        row(
            f"solve_policy '{name}', cold (calibration given)",
            seconds=s["cold"]["best"],
            ratio=f"{s['rounds_cold']} rounds; {s['cached']['best'] * 1e3:.0f} ms from the policy cache",
            cores=s["cold"]["cpu_best"] / s["cold"]["best"],
        )
        row(
            "  warm-started from the solved benchmark scenario",
            seconds=s["warm"]["best"],
            ratio=f"{s['rounds_warm']} rounds",
            cores=s["warm"]["cpu_best"] / s["warm"]["best"],
        )
    slow = sol.get("slowest_bundled")
    if slow:
        row(
            f"solve_policy '{slow['scheme']}' ({slow['scenario']}), cold",
            seconds=slow["seconds"],
            ratio=f"{slow['rounds']} rounds; {slow['axes']} state axes and a paid axis; the slowest bundled solve",
            cores=slow["cores"],
        )
    cli = out.get("cli")
    if cli:
        row(
            f"incentsim compare {cli['replications']:,} repl., warm",
            seconds=cli["warm"],
            ratio="3 schemes, optimising",
            key="compare_warm_seconds",
            cores=cli["cpu_util_warm"],
        )
        row(
            f"incentsim compare (auto: {cli['warm_auto_replications'] or 0:,} repl.), warm",
            seconds=cli["warm_auto"],
            ratio="the default run",
            cores=cli["cpu_util_warm_auto"],
        )
        row(
            f"incentsim compare (auto: {cli['cold_replications'] or 0:,} repl.), cold caches",
            seconds=cli["cold"],
            ratio="compile + calibrate + solve + run",
            key="compare_cold_seconds",
            cores=cli["cpu_util_cold"],
        )
        runs = cli["imports"].get("runs") or [cli["imports"]["seconds"]]
        row(
            f"  imports of a warm compare (-X importtime, median of {len(runs)}: {min(runs):.2f}-{max(runs):.2f} s)",
            seconds=cli["imports"]["seconds"],
            ratio="heavy: " + (", ".join(cli["imports"]["heavy"]) or "none"),
            key="compare_imports_seconds",
        )

    head = ("figure", "time s", "cores", "M rep-wk/s", "sim yr/s", "rec yr/s", "ratio", "target", "status")
    widths = [max(len(str(r[i])) for r in [head, *rows]) for i in range(len(head))]
    lines = []
    for j, r in enumerate([head, *rows]):
        cells = [str(c).ljust(widths[i]) if i in (0, 6, 7) else str(c).rjust(widths[i]) for i, c in enumerate(r)]
        lines.append("  ".join(cells).rstrip())
        if j == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def profile_table(out: dict) -> str:
    """Where the time goes: the bound per kernel section, and the kernel's bookkeeping."""
    p = out["profile"]
    lines = [
        f"Where the time goes (per replication = {out['work']['rep_weeks'] / out['replications']:,.0f} rep-weeks; "
        f"draws counted in the real kernel, timed as the bound, 1 thread):"
    ]
    lines.append(
        f"  {'section':44s} {'calls':>8s} {'variates':>9s} {'uniforms':>9s} {'us':>8s} {'share':>6s} {'ns/var':>7s}"
    )
    for name, s in sorted(p["sections"].items(), key=lambda kv: -kv[1]["seconds_per_replication"]):
        nsv = s["ns_per_variate"]
        lines.append(
            f"  {name[:44]:44s} {s['calls_per_replication']:8,.0f} {s['variates_per_replication']:9,.0f} "
            f"{s['uniforms_per_replication']:9,.0f} {s['seconds_per_replication'] * 1e6:8.1f} "
            f"{100 * s['share_of_bound']:5.1f}% {'' if nsv is None else f'{nsv:7.1f}'}"
        )
    lines.append(
        f"  1 thread: kernel {p['kernel_seconds_per_replication'] * 1e6:,.1f} us/replication, bound "
        f"{p['bound_seconds_per_replication'] * 1e6:,.1f} us: bookkeeping ~{100 * p['bookkeeping_share_of_kernel']:.0f}% "
        f"of the kernel's time"
    )
    d = out["draws"]
    lines.append(
        f"  draws: {d['variates_per_replication']:,.0f} variates and {d['uniforms_per_replication']:,.0f} uniforms per "
        f"replication (bound replays {d['bound_uniforms_per_replication']:,.0f} uniforms); "
        f"{d['variates_per_replication'] / d['rep_weeks_per_replication']:.1f} variates per rep-week; "
        f"optimising: {out['draws_optimising']['variates_per_replication']:,.0f} variates"
    )
    chk = out["distribution_check"]
    bad = [k for k, v in chk["fields"].items() if not v["ok"]]
    worst = max(chk["fields"].items(), key=lambda kv: abs(kv[1]["z"]))
    lines.append(
        f"  numpy reference vs kernel, {chk['replications']:,} replications each: "
        f"{'same distribution' if chk['all_ok'] else 'DIFFERENT: ' + ', '.join(bad)} "
        f"(largest |z| {abs(worst[1]['z']):.2f} on {worst[0]}; {chk['rule']})"
    )
    sc = out.get("scaling")
    if sc:
        first = sc[list(sc)[0]]
        lines.append(
            f"  fresh process, warm caches: importing incentsim + loading the scenario {first['import_seconds']:.2f} s, "
            f"first kernel call (loading the compiled kernel from numba's cache, 64 replications) "
            f"{first['first_call_seconds']:.2f} s"
        )
    cli = out.get("cli") or {}
    bd = cli.get("warm_breakdown")
    if bd:
        other = bd["command"] - bd["simulate (all)"] - bd["build_comparison"] - bd["text report"] - bd["imports"]
        lines.append(
            f"  warm compare, profiled run: {bd['command'] + bd['import_cli']:.2f} s = kernel {bd['kernel']:.2f} "
            f"(simulate {bd['simulate (all)']:.2f}, of which solve_policy {bd['solve_policy']:.2f}), imports "
            f"{bd['imports'] + bd['import_cli']:.2f}, comparison {bd['build_comparison']:.2f}, text "
            f"{bd['text report']:.2f}, other {other:.2f}"
        )
    abl = out.get("ablation")
    if abl:
        tot = abl["cycles_per_replication"]
        lines.append(
            f"  kernel stages ({abl['scheme']}, {abl['replications']:,} replications, 1 thread, optimising behaviour), "
            f"{tot:,.0f} cycles per replication:"
        )
        for name, cyc in abl["stages"].items():
            lines.append(f"    {name:58s} {100 * cyc / tot:5.1f}%")
    lab = out.get("samplers_lab")
    if lab:
        lines.append(
            "  other samplers (benchmarks.samplers_lab, ns per call, 1 thread; each draws other streams, and "
            "32-bit decisions resolve a probability to 2^-32):"
        )
        for case, variants in lab.items():
            if len(variants) > 1:
                base = next(iter(variants.values()))
                alts = "; ".join(f"{k} {v:.0f} ({base / v:.1f}x)" for k, v in list(variants.items())[1:])
                lines.append(f"    {case}: current {base:.0f}; {alts}")
    env = out["environment"]
    lines.append(
        f"  machine: {env['cpu']}, {env['cores']} cores, numba {env['numba']} ({env['threading_layer']} layer), "
        f"numpy {env['numpy']}; load average {env['load_average'][0]:.1f} at start, "
        f"{env['load_average_end'][0]:.1f} at end; best of {REPEAT} runs"
    )
    cap = (env.get("parallel_capacity"), env.get("parallel_capacity_end"))
    lines.append(
        f"  cores a 2-thread numba loop got: {cap[0]:.2f} at start, {cap[1]:.2f} at end"
        + (
            ""
            if min(cap) >= 1.8
            else "  -- WARNING: the machine was shared (jobs outside this process list count too); "
            "2-thread figures and ratios built on them are unreliable: rerun when 'cores' reads ~2"
        )
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Command line (see the module docstring)."""
    ap = argparse.ArgumentParser(prog="python -m benchmarks.report", description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"JSON output (default {DEFAULT_OUT})")
    ap.add_argument("--quick", action="store_true", help="tiny sizes: a smoke run of the instruments, not figures")
    ap.add_argument("--skip-cli", action="store_true", help="skip the CLI runs (the cold one compiles everything)")
    ap.add_argument("--skip-scaling", action="store_true", help="skip the 1k/10k/100k fresh-process runs")
    ap.add_argument(
        "--skip-fresh", action="store_true", help="skip the fresh-machine run (clone, make install, make demo)"
    )
    ap.add_argument(
        "--ablation",
        action="store_true",
        help="also count the kernel's cycles per stage of the week (benchmarks.kernel_sections, +1-3 min)",
    )
    a = ap.parse_args(argv)
    started = time.perf_counter()
    out = measure(
        quick=a.quick, skip_cli=a.skip_cli, skip_scaling=a.skip_scaling, ablation=a.ablation, skip_fresh=a.skip_fresh
    )
    out["report_seconds"] = time.perf_counter() - started
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(json.dumps(out, indent=1, default=float))
    print(issue_table(out))
    print()
    print(table(out))
    print()
    print(profile_table(out))
    print(f"\nFigures written to {a.out} ({out['report_seconds']:.0f} s). Reproduce: python -m benchmarks.report")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
