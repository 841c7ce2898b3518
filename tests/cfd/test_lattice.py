"""D3Q19 constants and the equilibrium of the deviation populations."""

from __future__ import annotations

import numpy as np

from rhinoapp.cfd.lattice import CS2, OPPOSITE, Q, VELOCITIES, WEIGHTS, equilibrium_deviation, macroscopic


def test_velocity_set_is_d3q19_with_isotropic_moments() -> None:
    c = VELOCITIES.astype(float)
    assert Q == 19 and len({tuple(v) for v in VELOCITIES}) == 19
    assert np.isclose(WEIGHTS.sum(), 1.0)
    assert np.allclose(WEIGHTS @ c, 0.0)
    assert np.allclose(np.einsum("q,qa,qb->ab", WEIGHTS, c, c), CS2 * np.eye(3))
    fourth = np.einsum("q,qa,qb,qc,qd->abcd", WEIGHTS, c, c, c, c)
    delta = np.eye(3)
    expected = CS2**2 * (np.einsum("ab,cd->abcd", delta, delta) + np.einsum("ac,bd->abcd", delta, delta)
                         + np.einsum("ad,bc->abcd", delta, delta))
    assert np.allclose(fourth, expected)
    assert np.array_equal(VELOCITIES[OPPOSITE], -VELOCITIES)
    assert np.array_equal(OPPOSITE[1::2], np.arange(2, 19, 2))


def test_constants_are_read_only() -> None:
    for array in (VELOCITIES, WEIGHTS, OPPOSITE):
        assert not array.flags.writeable


def test_equilibrium_has_the_prescribed_moments() -> None:
    rng = np.random.default_rng(3)
    drho = rng.uniform(-0.01, 0.01, 50)
    u = rng.uniform(-0.05, 0.05, (3, 50))
    g = equilibrium_deviation(drho, u)
    back_rho, back_u = macroscopic(g)
    assert np.allclose(back_rho, drho) and np.allclose(back_u, u)
    c = VELOCITIES.astype(float)
    momentum_flux = np.einsum("qa,qb,qn->abn", c, c, g + WEIGHTS[:, None])
    rho = 1.0 + drho
    expected = rho * CS2 * np.eye(3)[:, :, None] + rho * np.einsum("an,bn->abn", u, u)
    assert np.allclose(momentum_flux, expected)
