"""Every tolerance the course grades with, in one place.

A spec names one of these; nothing else in the package holds a comparison threshold.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Tolerance:
    """An element matches when |got - expected| <= atol + rtol * |expected| (numpy.isclose)."""

    rtol: float
    atol: float


# Exact arithmetic on small integers and their gradients: float32 vs float64 is the only slack needed.
EXACT = Tolerance(rtol=1e-6, atol=1e-8)

# A few hundred float32 steps drift about 1e-6 relative from float64; 1e-4 leaves room for that and
# for library differences, while a wrong sign, learning rate or missing zero_grad is off by far more.
CLOSE = Tolerance(rtol=1e-4, atol=1e-6)

# Results of adaptive optimisers (Adam, AdamW) after hundreds of steps amplify rounding differences.
LOOSE = Tolerance(rtol=1e-2, atol=1e-4)

# Quantities whose true value is zero but that an optimiser only approaches (gaps to an optimum,
# orthogonality residuals): judged by absolute distance.
NEAR_ZERO = Tolerance(rtol=0.0, atol=1e-3)

# |<u, u*>| of unit singular vectors: 1 - cos(angle) below this counts as the same direction.
DIRECTION = Tolerance(rtol=0.0, atol=1e-3)

# A trajectory earns full credit only when every step matches; partial credit is the share that do.
# Mistake diagnoses (shifted by a step, scaled, sign flipped) need this share of steps to agree.
DIAGNOSIS_SHARE = 0.9
