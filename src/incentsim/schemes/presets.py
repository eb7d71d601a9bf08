"""Scheme presets, re-exported: their home is :mod:`incentsim.scenario.presets`.

The scenario loader expands presets, so they live below the schemes (no import cycle); this
alias keeps ``incentsim.schemes.presets`` imports working until they are updated.
"""

from ..scenario.presets import PRESETS, merge, preset_description, preset_table

__all__ = ["PRESETS", "merge", "preset_description", "preset_table"]
