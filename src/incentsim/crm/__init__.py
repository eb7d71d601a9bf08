"""CRM data: calibrate from an export, synthetic exports, and a replay of last year's deals.

Read an export of leads and opportunities, calibrate a scenario from it, generate synthetic
exports from a known scenario, and replay last year's deals under each scheme.

Modules: :mod:`~incentsim.crm.format` (the export format, reading and validating it),
:mod:`~incentsim.crm.estimate` (the funnel estimates with confidence intervals),
:mod:`~incentsim.crm.writer` (the commented scenario file), :mod:`~incentsim.crm.synth`
(item-level synthetic exports), :mod:`~incentsim.crm.replay` (payout rules on actual deals).
"""
