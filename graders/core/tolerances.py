"""Every tolerance the course grades with, in one place.

A spec names one of these; nothing else in the package holds a comparison threshold.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Tolerance:
    """An element matches when |got - expected| <= atol + rtol * |expected| (numpy.isclose).

    floor: a small positive property (kinds.small_positive) must be at least floor * the reference; a
    residual at rounding level (kinds.rounding_residual) must lie within a factor 1/floor of its level.
    """

    rtol: float
    atol: float
    floor: float = 0.0


# Exact arithmetic on small integers and their gradients: float32 vs float64 is the only slack needed.
EXACT = Tolerance(rtol=1e-6, atol=1e-8)

# A few hundred float32 steps drift about 1e-6 relative from float64; 1e-4 leaves room for that and
# for library differences, while a wrong sign, learning rate or missing zero_grad is off by far more.
CLOSE = Tolerance(rtol=1e-4, atol=1e-6)

# Results of adaptive optimisers (Adam, AdamW) after hundreds of steps amplify rounding differences.
LOOSE = Tolerance(rtol=1e-2, atol=1e-4)

# Quantities whose true value is zero but that an optimiser only approaches (gaps to an optimum,
# orthogonality residuals): judged by absolute distance.
# As a small positive property (a residual norm), at least 1/100 of the reference: float32 and float64
# runs stay within a factor of ten of it, while a squared norm (the square of ~1e-7) is orders below.
NEAR_ZERO = Tolerance(rtol=0.0, atol=1e-3, floor=1e-2)

# A residual norm that gradient descent drove down to rounding level (05's ‖AX − I‖_F), judged against the
# reference's level in float64 and that level scaled to float32's rounding (2^29 times higher): float64
# runs (torch, numpy, an exact inverse) end at 0.96 to 1.2 times the reference, float32 runs at 1.4 to 2
# times its float32 level, so a factor of ten either way accepts every precision. A squared norm falls
# outside both: the square of a float32 residual, 1.6e-14 to 2.5e-14, is 100 to 150 times the float64
# level, and the square of a float64 one is 16 orders of magnitude below it.
ROUNDING_RESIDUAL = Tolerance(rtol=0.0, atol=0.0, floor=0.1)

# |<u, u*>| of unit singular vectors: 1 - cos(angle) below this counts as the same direction.
DIRECTION = Tolerance(rtol=0.0, atol=1e-3)

# Mini-batch SGD with a constant step ends somewhere in a noise ball around the least-squares solution,
# where depending on the shuffle: in notebook 04, 30 other shuffles end within 5.5e-3 of the reference
# run's weights. 1e-2 accepts any shuffle; too few epochs, a learning rate five times too small or
# full-batch steps end 2.6e-2 or more away.
SGD_WEIGHTS = Tolerance(rtol=0.0, atol=1e-2)

# The same runs' training loss relative to the least-squares loss, minus 1: at most 0.3 % for any
# shuffle; 1 % accepts them all, while the mistakes above leave 8 % and more. The floor: 40 shuffles
# end at 0.1 to 1.8 times the reference run's excess, while the absolute difference of the losses
# instead of their ratio (the ratio times lstsq_loss ≈ 0.0095) is below 0.02 times it.
SGD_EXCESS_LOSS = Tolerance(rtol=0.0, atol=1e-2, floor=0.05)

# A trajectory earns full credit only when every step matches; partial credit is the share that do.
# Mistake diagnoses (shifted by a step, scaled, sign flipped) need this share of steps to agree.
DIAGNOSIS_SHARE = 0.9

# nbgrader adds up per-cell points that graders.core.student.grade rounded to 4 decimals, the audit rounds
# the total once: they may differ in the 4th decimal, while tampering moves the score by whole points.
SCORE_AGREEMENT = 1e-3
