"""Tier: documentation. Every command and Python snippet in docs/ runs as written.

Each fenced ``sh`` or ``python`` block of ``docs/**/*.md`` is one test case, run in a fresh folder
that holds a link to the bundled ``scenarios/`` (so paths as written work and outputs land in the
scratch folder, never in the checkout). A shell block runs line by line with ``.venv``'s
``incentsim`` on the PATH and must exit 0; a Python block runs as a script and must exit 0. A block
preceded by ``<!-- snippet: skip -->`` is not run (installation, cluster commands, TOML), one preceded
by ``<!-- snippet: slow -->`` only in the slow tier. Snippets are written at small N so the whole tier
takes about a minute with warm caches. The reference generator is checked here too: every key the
loader accepts has a description, so the generated pages cannot miss one.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT

DOCS = ROOT / "docs"
_FENCE = re.compile(r"(?:<!-- snippet: (?P<mark>skip|slow) -->\s*\n)?```(?P<lang>[a-z]+)[^\n]*\n(?P<body>.*?)\n```", re.S)


def snippets() -> list:
    cases = []
    for page in sorted(DOCS.rglob("*.md")):
        text = page.read_text(encoding="utf-8")
        for n, m in enumerate(_FENCE.finditer(text)):
            if m.group("lang") not in ("sh", "python") or m.group("mark") == "skip":
                continue
            marks = [pytest.mark.slow] if m.group("mark") == "slow" else []
            rel = page.relative_to(DOCS).as_posix()
            cases.append(pytest.param(m.group("lang"), m.group("body"), id=f"{rel}#{n}", marks=marks))
    return cases


@pytest.fixture
def scratch(tmp_path) -> Path:
    (tmp_path / "scenarios").symlink_to(ROOT / "scenarios")
    return tmp_path


def _env() -> dict:
    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env["MPLBACKEND"] = "Agg"
    return env


@pytest.mark.parametrize("lang, body", snippets())
def test_documented_snippet_runs_as_written(lang, body, scratch):
    if lang == "python":
        script = scratch / "snippet.py"
        script.write_text(body + "\n")
        result = subprocess.run([sys.executable, str(script)], cwd=scratch, env=_env(), capture_output=True,
                                text=True, timeout=600)  # fmt: skip
        assert result.returncode == 0, result.stderr[-3000:]
        return
    for line in body.splitlines():
        command = line.split("#", 1)[0].strip()
        if not command:
            continue
        result = subprocess.run(["bash", "-c", command], cwd=scratch, env=_env(), capture_output=True, text=True,
                                timeout=600)  # fmt: skip
        assert result.returncode == 0, f"{command}\n{result.stderr[-3000:]}"


def test_there_are_snippets_to_run():
    assert len(snippets()) >= 10


def test_reference_generator_documents_every_key():
    sys.path.insert(0, str(DOCS / "hooks"))
    try:
        import reference_tables as ref
    finally:
        sys.path.remove(str(DOCS / "hooks"))
    text = ref.scenario_tables()
    for table in ref.TABLES:
        assert f"[{table}]" in text
        for key in ref.table_keys(table):
            assert key.description, key
    assert "`leads_per_week`" in text and "`effort_cost_exponent`" in text
    assert all(f"`{name}`" in ref.presets() for name in ("separate", "shared", "hybrid"))
    page = (DOCS / "reference" / "schemes.md").read_text()
    expanded = ref.expand(page)
    assert "{{ reference:" not in expanded and "`team_bookings`" in expanded


def test_the_strict_docs_build_fails_on_a_broken_link(tmp_path):
    """The Makefile's ``docs-check`` command (what ``make test`` runs) on a copy of the docs with one
    link to a missing page exits non-zero and names the link (with ``--quiet`` it passed: mkdocs
    then drops the warnings that ``--strict`` counts)."""
    import shutil

    recipe = ROOT.joinpath("Makefile").read_text().split("\ndocs-check:", 1)[1].splitlines()[1].strip()
    assert "--strict" in recipe and "--quiet" not in recipe
    shutil.copytree(DOCS, tmp_path / "docs")
    shutil.copy(ROOT / "mkdocs.yml", tmp_path / "mkdocs.yml")
    (tmp_path / "src").symlink_to(ROOT / "src")
    (tmp_path / "scenarios").symlink_to(ROOT / "scenarios")
    page = tmp_path / "docs" / "extending.md"
    page.write_text(page.read_text(encoding="utf-8") + "\nSee [the missing page](model/missing.md).\n")
    command = recipe.replace("NO_MKDOCS_2_WARNING=1 ", "").replace("$(BIN)/python", sys.executable).split()
    command[command.index("--site-dir") + 1] = str(tmp_path / "site")
    env = _env() | {"NO_MKDOCS_2_WARNING": "1"}
    result = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode != 0
    assert "model/missing.md" in result.stdout + result.stderr
