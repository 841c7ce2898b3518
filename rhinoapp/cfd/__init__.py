"""Sparse D3Q19 lattice-Boltzmann airflow solver (NumPy reference, Numba CPU, CuPy GPU backends)."""
