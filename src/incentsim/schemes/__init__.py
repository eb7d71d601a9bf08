"""Scheme presets, the simulated calendar, and payout tables."""
