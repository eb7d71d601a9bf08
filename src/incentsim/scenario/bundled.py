"""The example scenarios that ship with incentsim (``scenarios/`` in the repository)."""

from __future__ import annotations

from pathlib import Path


def examples_dir() -> Path | None:
    """Folder of bundled scenario files (installed wheel or source checkout)."""
    here = Path(__file__).resolve().parent.parent
    for candidate in (here / "examples", here.parent.parent / "scenarios"):
        if candidate.is_dir() and any(candidate.glob("*.toml")):
            return candidate
    return None


def _kind(path: Path) -> str:
    """``sweep`` (a top-level ``[sweep]`` table), ``design`` (``[design]`` without ``[sweep]``) or ``scenario``."""
    import tomllib

    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError):
        return "scenario"
    return "sweep" if "sweep" in data else ("design" if "design" in data else "scenario")


def _is_sweep(path: Path) -> bool:
    """Whether a TOML file is a sweep file (it has a top-level ``[sweep]`` table)."""
    return _kind(path) == "sweep"


def bundled() -> dict[str, Path]:
    """Name (file stem) -> path of each bundled scenario (sweep and design files excluded), sorted by name."""
    folder = examples_dir()
    if folder is None:
        return {}
    return {p.stem: p for p in sorted(folder.glob("*.toml")) if _kind(p) == "scenario"}


def bundled_sweeps() -> dict[str, Path]:
    """Name (file stem) -> path of each bundled sweep file."""
    folder = examples_dir()
    if folder is None:
        return {}
    return {p.stem: p for p in sorted(folder.glob("*.toml")) if _is_sweep(p)}


def bundled_designs() -> dict[str, Path]:
    """Name (file stem) -> path of each bundled plan-design file."""
    folder = examples_dir()
    if folder is None:
        return {}
    return {p.stem: p for p in sorted(folder.glob("*.toml")) if _kind(p) == "design"}


def looks_like_path(text: str) -> bool:
    """Whether an argument names a file rather than a bundled scenario: it has a folder separator
    or a ``.toml`` suffix. Such an argument is never replaced by a bundled file."""
    import os

    seps = {os.sep, "/"} | ({os.altsep} if os.altsep else set())
    return any(sep in text for sep in seps) or text.lower().endswith(".toml")


def resolve(name_or_path: str, *, sweeps: bool = False, designs: bool = False) -> Path:
    """The file an argument names.

    A path-like argument (see :func:`looks_like_path`) is a path, whether or not it exists; an
    argument that is exactly the name of a bundled scenario (``sweeps``: of a bundled sweep
    file; ``designs``: of a bundled plan-design file) is that file; anything else is a path too.
    A missing file is reported by whoever reads it (:func:`missing_reason` explains it).
    """
    text = str(name_or_path)
    if not looks_like_path(text):
        found = (bundled_designs() if designs else bundled_sweeps() if sweeps else bundled()).get(text)
        if found is not None:
            return found
    return Path(text)


def is_bundled(path: Path) -> bool:
    """Whether ``path`` is one of the bundled example files."""
    folder = examples_dir()
    return folder is not None and Path(path).resolve().parent == folder.resolve()


def missing_reason(name_or_path: str, *, sweeps: bool = False) -> str:
    """Why an argument names no file: "file not found", with a hint at the bundled names."""
    from .reader import did_you_mean

    text = str(name_or_path)
    names = bundled_sweeps() if sweeps else bundled()
    kind = "sweep" if sweeps else "scenario"
    if looks_like_path(text):
        stem = Path(text).name[:-5] if text.lower().endswith(".toml") else Path(text).name
        if stem in names:
            return f'file not found (the bundled {kind} of that name is used only as a bare name: "{stem}")'
        return "file not found"
    hint = did_you_mean(text, names)
    listed = ", ".join(names) if names else "none"
    return f"no such file, and no bundled {kind} of that name{hint} (bundled: {listed})"


def first_comment(path: Path) -> str:
    """The scenario's description: ``[scenario] description`` or its first comment line."""
    import tomllib

    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        desc = data.get("scenario", {}).get("description")
        if desc:
            return " ".join(str(desc).split())
    except (OSError, tomllib.TOMLDecodeError):
        pass
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            return line.lstrip("# ").strip()
    return ""
