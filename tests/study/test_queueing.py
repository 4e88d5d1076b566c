"""The queueing theory against formulas and published values it does not compute itself."""

from __future__ import annotations

import itertools
import math

import pytest

from optimizer.study.queueing import (
    TAIL_MASS,
    erlang_c,
    erlang_c_scaled_wait_ratio,
    literature_wait_ratio,
    me2n_wait_ratio,
    mmn_wait_ratio,
    pk_wait_ratio,
    solve_chain,
)

OCCUPANCIES = (0.1, 0.3, 0.5, 0.7, 0.8, 0.9, 0.95)


@pytest.mark.parametrize("rho", OCCUPANCIES)
def test_one_berth_chain_is_pollaczek_khinchine(rho: float) -> None:
    # M/G/1 with Cs^2 = 1/2, written out here: rho * 1.5 / (2 (1 - rho))
    assert me2n_wait_ratio(1, rho) == pytest.approx(rho * 1.5 / (2 * (1 - rho)), abs=1e-6)


@pytest.mark.parametrize("berths", [1, 2, 3, 5, 8])
@pytest.mark.parametrize("rho", OCCUPANCIES)
def test_one_phase_chain_is_erlang_c(berths: int, rho: float) -> None:
    assert solve_chain(berths, rho, phases=1).wait_ratio == pytest.approx(mmn_wait_ratio(berths, rho),
                                                                          rel=1e-6, abs=1e-9)


def test_published_values() -> None:
    # M/E2/1 (UNCTAD / PIANC tables, and P-K by hand)
    assert me2n_wait_ratio(1, 0.5) == pytest.approx(0.75, abs=1e-9)
    assert me2n_wait_ratio(1, 0.8) == pytest.approx(3.0, abs=1e-9)
    # M/M/2 at rho 0.5: C = 1/3, Wq/S = C / (2 * 0.5)
    assert mmn_wait_ratio(2, 0.5) == pytest.approx(1 / 3, abs=1e-12)
    assert erlang_c(2, 0.5) == pytest.approx(1 / 3, abs=1e-12)
    # M/M/1: Wq/S = rho / (1 - rho), P(wait) = rho
    assert mmn_wait_ratio(1, 0.75) == pytest.approx(3.0)
    assert erlang_c(1, 0.6) == pytest.approx(0.6)
    # M/E2/n as the port-planning tables print them (UNCTAD 1985, reproduced in Thoresen), two decimals
    for berths, rho, table in [(2, 0.5, 0.26), (3, 0.5, 0.12), (4, 0.5, 0.07), (2, 0.7, 0.73),
                               (3, 0.7, 0.42), (4, 0.7, 0.27)]:
        assert round(me2n_wait_ratio(berths, rho), 2) == table


def test_erlang_c_scaled_is_close_to_the_chain_and_below_it() -> None:
    """Allen-Cunneen is exact for one berth and a little low for several (within 10 % at rho >= 0.5)."""
    for rho in OCCUPANCIES:
        assert erlang_c_scaled_wait_ratio(1, rho) == pytest.approx(me2n_wait_ratio(1, rho), rel=1e-9)
        for berths in (2, 3, 4):
            exact, approx = me2n_wait_ratio(berths, rho), erlang_c_scaled_wait_ratio(berths, rho)
            assert approx <= exact
            if rho >= 0.5:
                assert approx == pytest.approx(exact, rel=0.1)
    assert literature_wait_ratio(1, 0.5)[0] == "P-K"
    assert literature_wait_ratio(3, 0.5) == ("Erlang C scaled", erlang_c_scaled_wait_ratio(3, 0.5))


@pytest.mark.parametrize("berths", [1, 2, 4])
def test_waiting_grows_with_occupancy_and_falls_with_berths(berths: int) -> None:
    grid = [i / 50 for i in range(1, 50)]
    waits = [me2n_wait_ratio(berths, rho) for rho in grid]
    assert all(a < b for a, b in itertools.pairwise(waits))
    assert all(me2n_wait_ratio(berths + 1, rho) < w for rho, w in zip(grid, waits, strict=True))


def test_chain_says_where_it_cut_the_queue() -> None:
    s = solve_chain(1, 0.95)
    assert s.tail_mass < TAIL_MASS
    assert s.queue_cut >= 64
    # Little's law inside the chain: L_q = lambda W_q with lambda = rho for one berth (S = 1)
    assert s.queue_mean == pytest.approx(0.95 * s.wait_ratio, rel=1e-9)
    assert s.prob_wait == pytest.approx(0.95, abs=1e-9)  # one berth: P(wait) = rho


def test_saturated_queue_is_infinite() -> None:
    for berths in (1, 3):
        assert me2n_wait_ratio(berths, 1.0) == math.inf
        assert mmn_wait_ratio(berths, 1.2) == math.inf
    assert pk_wait_ratio(1.0) == math.inf


@pytest.mark.parametrize(("berths", "rho", "field"), [(0, 0.5, "berths"), (-1, 0.5, "berths"),
                                                      (2, -0.1, "occupancy"), (2, math.nan, "occupancy")])
def test_bad_points_are_named(berths: int, rho: float, field: str) -> None:
    with pytest.raises(ValueError, match=field):
        me2n_wait_ratio(berths, rho)


def test_numpy_numbers_are_taken() -> None:
    """The study's plots pass numpy scalars."""
    import numpy as np

    assert me2n_wait_ratio(np.int64(1), np.float64(0.5)) == pytest.approx(0.75)
