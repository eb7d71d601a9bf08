"""Tier: the `policy` command through click's CliRunner (solves a small scenario)."""

from __future__ import annotations

from conftest import small

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _scenario(tmp_path):
    import tomllib  # noqa: F401  (the file is written as TOML by hand below)

    d = small(
        simulation={"replications": 50, "seed": 1, "behaviour": "optimising"},
        behaviour={"effort_cost_sales": 40000.0, "effort_cost_marketing": 20000.0, "quality_cost_marketing": 0.0},
    )
    lines = []
    for table, values in d.items():
        if table in ("funnel", "schemes"):
            for name, sub in values.items():
                lines.append(f"[{table}.{name}]")
                lines += [f"{k} = {v!r}".replace("'", '"') for k, v in sub.items()]
        else:
            lines.append(f"[{table}]")
            lines += [f"{k} = {v!r}".replace("'", '"') for k, v in values.items()]
    path = tmp_path / "s.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_policy_command_prints_heatmaps_and_writes_png(runner, tmp_path):
    from incentsim.cli.main import cli

    path = _scenario(tmp_path)
    png = tmp_path / "p.png"
    result = runner.invoke(cli, ["policy", str(path), "--scheme", "separate", "--png", str(png)])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "Sales effort by week" in out and "Marketing quality focus" in out
    assert "Equilibrium after" in out and "Jan" in out
    assert png.read_bytes()[:8] == PNG_MAGIC and png.stat().st_size > 10_000


def test_policy_command_bad_scheme_and_level(runner, tmp_path):
    from incentsim.cli.main import cli

    path = _scenario(tmp_path)
    result = runner.invoke(cli, ["policy", str(path), "--scheme", "sharde"])
    assert result.exit_code == 2 and 'did you mean "shared"' in result.output
    result = runner.invoke(cli, ["policy", str(path), "--ability", "7"])
    assert result.exit_code == 2 and "--ability" in result.output
