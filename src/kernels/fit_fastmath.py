#!/usr/bin/python3
"""Fit the polynomial coefficients of src/kernels/fastmath.hpp.

Each function is reduced to a smooth function g on a short interval, and g is fitted by a
polynomial that minimises the largest relative error (minimax), computed with Lawson's
algorithm: weighted least squares on Chebyshev nodes whose weights are multiplied by the
error at each node until the error equioscillates (C. L. Lawson, PhD thesis, UCLA 1961;
J. R. Rice and K. H. Usow, Math. Comp. 22 (1968) 118-127). The coefficients must be float32
numbers, so they are rounded one at a time, lowest degree first, and the higher ones refitted
to absorb each rounding. The reference values come from mpmath at 40 digits. Run with
Debian's python3-numpy and python3-mpmath:

    /usr/bin/python3 src/kernels/fit_fastmath.py

and paste the printed constants into fastmath.hpp. The script prints the error of each fit
with its float32 coefficients in exact arithmetic; the error of the float32 code itself is
measured by tests/test_fastmath.cpp (for erf over every float in [0, 6]:
`build/tests/actlab_tests "[exhaustive]" -s`).
"""

import mpmath as mp
import numpy as np

mp.mp.dps = 40

# erf switches from its Taylor-like polynomial to 1 - erfc at |x| = ERF_SWITCH: below it the
# polynomial's rounding stays under an ulp, above it erfc is small enough that 1 - erfc
# rounds well. (erfc itself is one polynomial for every a >= 0.)
ERF_SWITCH = 1.0


def chebyshev_nodes(lo, hi, n):
    k = np.arange(n)
    return (lo + hi) / 2 + (hi - lo) / 2 * np.cos(np.pi * (k + 0.5) / n)


def minimax(xs, target, basis, weight, iterations=600):
    """Coefficients c minimising max_k |weight_k (sum_i c_i basis_i(x_k) - target_k)|."""
    a = np.array([[b(x) for b in basis] for x in xs])
    f = np.array(target)
    w = np.array(weight)
    u = np.full(len(xs), 1.0 / len(xs))
    for _ in range(iterations):
        root = np.sqrt(u)
        c, *_ = np.linalg.lstsq(a * (w * root)[:, None], f * w * root, rcond=None)
        err = np.abs((a @ c - f) * w)
        u = u * err
        u /= u.sum()
    return c, err.max()


def minimax_float32(xs, target, basis, weight):
    """minimax() with float32 coefficients: each rounded in turn, the rest refitted."""
    fixed = []
    residual = np.array(target)
    for i in range(len(basis)):
        c, _ = minimax(xs, residual, basis[i:], weight)
        fixed.append(float(np.float32(c[0])))
        residual = residual - fixed[-1] * np.array([basis[i](x) for x in xs])
    return fixed, np.abs(residual * np.array(weight)).max()


def report(name, formula, coefficients, error):
    print(f"// {name}: {formula}; max relative error with these float32 coefficients "
          f"{error:.2e}")
    print(", ".join(f"{float(np.float32(c)):.9g}f" for c in coefficients))
    print()


def powers(step, count, variable=lambda x: x):
    return [lambda x, i=i: variable(x) ** (step * i) for i in range(count)]


def fit_erf_small():
    # erf(x) = x (c0 + P(x^2)) for |x| < ERF_SWITCH, c0 = 2 / sqrt(pi) rounded to float32
    # and P of degree 6 in x^2: P(0) carries the rounding error of c0, which alone would
    # cost half an ulp.
    c0 = float(np.float32(2 / mp.sqrt(mp.pi)))
    xs = chebyshev_nodes(1e-6, ERF_SWITCH, 400)
    g = [float(mp.erf(x) / x - c0) for x in xs]
    weight = [float(x / mp.erf(x)) for x in xs]
    c, e = minimax_float32(xs, g, powers(2, 7), weight)
    report(f"erf, |x| < {ERF_SWITCH}", f"erf(x) = x ({c0:.9g}f + P(x^2))", c, e)


def fit_erfc():
    # erfc(a) = t exp(-a^2) R(t) with t = 2 / (2 + a), for every a >= 0 (the substitution of
    # Numerical Recipes' erfcc, Press et al. 1992, section 6.2): one polynomial for the whole
    # range, so that a vectorised loop evaluates no second branch; R of degree 8 in t. The
    # fit ends at 10.2: beyond it exp(-a^2) is 0 in float32 and R(t) only has to stay finite.
    t_of = lambda a: 2 / (2 + a)
    xs = chebyshev_nodes(0.0, 10.2, 800)
    g = [float(mp.erfc(a) * mp.exp(mp.mpf(a) ** 2) / t_of(a)) for a in xs]
    c, e = minimax_float32(xs, g, powers(1, 9, t_of), [1 / v for v in g])
    report("erfc, a >= 0", "erfc(a) = t exp(-a^2) R(t), t = 2 / (2 + a)", c, e)


def fit_expm1():
    # expm1(r) = r + r^2 P(r) on |r| <= ln(2) / 2, the range left by Cody-Waite reduction.
    h = float(mp.log(2) / 2)
    xs = chebyshev_nodes(-h, h, 400)
    xs = xs[np.abs(xs) > 1e-9]
    g = [float((mp.expm1(x) - x) / x ** 2) for x in xs]
    c, e = minimax_float32(xs, g, powers(1, 5), [x ** 2 / float(mp.expm1(x)) for x in xs])
    report("expm1, |r| <= ln2/2", "expm1(r) = r + r^2 P(r)", c, e)


def fit_log():
    # log(m) = 2 atanh(s) = 2 s + s^3 P(s^2), s = (m - 1) / (m + 1), m in [sqrt(1/2), sqrt(2)).
    s_max = float((mp.sqrt(2) - 1) / (mp.sqrt(2) + 1))
    xs = chebyshev_nodes(1e-9, s_max, 300)
    g = [float((2 * mp.atanh(s) - 2 * s) / s ** 3) for s in xs]
    c, e = minimax_float32(xs, g, powers(2, 3), [s ** 3 / float(2 * mp.atanh(s)) for s in xs])
    report("log, m in [sqrt(1/2), sqrt(2))", "log(m) = 2 s + s^3 P(s^2)", c, e)


if __name__ == "__main__":
    fit_erf_small()
    fit_erfc()
    fit_expm1()
    fit_log()
