"""A sweep's results for the terminal: each cell's verdict against the baseline."""

from __future__ import annotations

from .format import interval, share


def sweep_summary_text(table, sw, limit: int) -> str:
    """The profit-after-bonuses difference against the baseline, one line per cell.

    Parameters
    ----------
    table : pandas.DataFrame
        A sweep's results (:func:`incentsim.batch.run_sweep`).
    sw : Sweep
        The sweep (its parameters and schemes).
    limit : int
        Cells to show.
    """
    import pandas as pd

    base = sw.schemes[0]
    others = [s for s in sw.schemes if s != base]
    if not others:
        cols = ["cell", *sw.parameters, "profit_after_bonus_mean"]
        view = table[cols]
    else:
        pieces = [table.loc[table.scheme == base, ["cell", *sw.parameters]].set_index("cell")]
        for s in others:
            rows = table.loc[table.scheme == s].set_index("cell")
            d = rows["profit_after_bonus_diff_mean"].round(0)
            lo = rows["profit_after_bonus_diff_ci95_lo"]
            hi = rows["profit_after_bonus_diff_ci95_hi"]
            pieces.append(
                pd.DataFrame(
                    {
                        f"{s} - {base}": d,
                        "95% CI": [interval(a, b) for a, b in zip(lo, hi, strict=True)],
                        "P(better)": rows["profit_after_bonus_p_beats_baseline"].map(share),
                    }
                )
            )
        view = pd.concat(pieces, axis=1).reset_index()
    reps = f"{sw.replications:,}"
    head = f"Profit after bonuses per year, each scheme minus {base} (mean over {reps} replications):"
    text = view.head(limit).to_string(index=False, float_format=lambda x: f"{x:,.6g}")
    more = f"\n... {len(view) - limit} more cells in results.parquet" if len(view) > limit else ""
    return f"{head}\n{text}{more}"
