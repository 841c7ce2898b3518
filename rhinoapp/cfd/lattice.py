"""The D3Q19 velocity set, its weights, and the equilibrium in the form the kernels store.

Directions are ordered in opposite pairs: ``0`` is the rest population, ``2p + 1`` and
``2p + 2`` (``p = 0..8``) point in opposite directions. Components are in grid-index order
``(i, j, k)``, i.e. ``(x, y, z)`` of the voxel array ``[k, j, i]``.

Populations are stored as deviations ``g_q = f_q - w_q`` from the rest state at density 1
(FP32 keeps about three more digits of the small deviations than of ``f`` itself). The
equilibrium of the deviations is::

    g_eq_q = w_q * (drho + rho * (3 c.u + 9/2 (c.u)^2 - 3/2 u^2)),   rho = 1 + drho

Lattice pressure is ``p = drho / 3`` (speed of sound squared ``1/3``).

Examples
--------
>>> int(Q), VELOCITIES[1].tolist(), float(WEIGHTS.sum())
(19, [1, 0, 0], 1.0)
>>> bool(np.all(VELOCITIES[OPPOSITE] == -VELOCITIES))
True
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "BLOCK",
    "CS2",
    "OPPOSITE",
    "Q",
    "VELOCITIES",
    "WEIGHTS",
    "equilibrium_deviation",
    "macroscopic",
    "pair_velocity_components",
]

#: Number of discrete velocities.
Q = 19

#: Speed of sound squared in lattice units.
CS2 = 1.0 / 3.0

#: Cells per block of the array-of-structures-of-arrays layout (see :mod:`rhinoapp.cfd.setup`).
BLOCK = 256


def _frozen(array: np.ndarray) -> np.ndarray:
    array.setflags(write=False)
    return array


#: Discrete velocities ``c_q`` as ``(19, 3)`` integers ``(cx, cy, cz)``.
VELOCITIES = _frozen(np.array([
    [0, 0, 0],
    [1, 0, 0], [-1, 0, 0], [0, 1, 0], [0, -1, 0], [0, 0, 1], [0, 0, -1],
    [1, 1, 0], [-1, -1, 0], [1, -1, 0], [-1, 1, 0],
    [1, 0, 1], [-1, 0, -1], [1, 0, -1], [-1, 0, 1],
    [0, 1, 1], [0, -1, -1], [0, 1, -1], [0, -1, 1],
], dtype=np.int64))

#: Lattice weights ``w_q``.
WEIGHTS = _frozen(np.array([1 / 3] + [1 / 18] * 6 + [1 / 36] * 12, dtype=np.float64))

#: Index of the opposite direction of each ``q``.
OPPOSITE = _frozen(np.array([0] + [q + 1 if q % 2 else q - 1 for q in range(1, Q)], dtype=np.int64))


def pair_velocity_components() -> tuple[tuple[int, int, int], ...]:
    """The velocity of the first direction of each of the nine opposite pairs.

    Examples
    --------
    >>> pair_velocity_components()[:3]
    ((1, 0, 0), (0, 1, 0), (0, 0, 1))
    """
    return tuple((int(x), int(y), int(z)) for x, y, z in (VELOCITIES[2 * p + 1] for p in range(9)))


def equilibrium_deviation(drho: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Equilibrium deviations ``g_eq`` (shape ``(19, n)``) for densities ``1 + drho`` and velocities ``u``.

    Parameters
    ----------
    drho
        Density deviation, shape ``(n,)``.
    u
        Velocity, shape ``(3, n)``.

    Examples
    --------
    >>> g = equilibrium_deviation(np.array([0.01]), np.array([[0.05], [0.0], [0.0]]))
    >>> drho, u = macroscopic(g)
    >>> round(float(drho[0]), 12), round(float(u[0, 0]), 12)
    (0.01, 0.05)
    """
    drho = np.asarray(drho, dtype=np.float64)
    u = np.asarray(u, dtype=np.float64)
    rho = 1.0 + drho
    cu = VELOCITIES.astype(np.float64) @ u
    usq = np.sum(u * u, axis=0)
    result: np.ndarray = WEIGHTS[:, None] * (drho + rho * (3.0 * cu + 4.5 * cu * cu - 1.5 * usq))
    return result


def macroscopic(g: np.ndarray, force: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Density deviation and velocity from deviations ``g`` of shape ``(19, n)``, in FP64.

    With a body force the velocity is ``(j + F/2) / rho`` (Guo's half-force correction).

    Examples
    --------
    >>> drho, u = macroscopic(np.zeros((19, 2), dtype=np.float32))
    >>> drho.tolist(), u.shape
    ([0.0, 0.0], (3, 2))
    """
    g = np.asarray(g, dtype=np.float64)
    drho = g.sum(axis=0)
    j = VELOCITIES.T.astype(np.float64) @ g
    if force is not None:
        j = j + 0.5 * np.asarray(force, dtype=np.float64).reshape(3, 1)
    return drho, j / (1.0 + drho)
