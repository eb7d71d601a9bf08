"""Numba kernels: random streams, the weekly simulation, and the policy solver's recursions."""
