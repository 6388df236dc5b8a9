"""Kubernetes resource quantities, parsed exactly as k8s.io/apimachinery/pkg/api/resource does.

Grammar (from quantity.go)::

    <quantity>        ::= <signedNumber><suffix>
    <signedNumber>    ::= [+-]<digits> | [+-]<digits>.<digits> | [+-].<digits> | [+-]<digits>.
    <suffix>          ::= <binarySI> | <decimalExponent> | <decimalSI>
    <binarySI>        ::= Ki | Mi | Gi | Ti | Pi | Ei
    <decimalSI>       ::= n | u | m | "" | k | M | G | T | P | E
    <decimalExponent> ::= "e" <signedNumber> | "E" <signedNumber>   (an integer exponent)

Values are exact (fractions). As upstream does at parse time, a non-zero value is rounded up (away
from zero) to the next multiple of 1e-9, and the magnitude of a binary-SI quantity is capped at 2^63-1. ``value()`` and
``milli_value()`` round up like Go's ``Value()`` and ``MilliValue()``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from fractions import Fraction

from podgym.envs.kube.errors import KubeObjectError

_BINARY = {"Ki": 10, "Mi": 20, "Gi": 30, "Ti": 40, "Pi": 50, "Ei": 60}
_DECIMAL = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
_NUMBER = r"[+-]?(?:\d+\.?\d*|\.\d+)"
_QUANTITY = re.compile(rf"^(?P<num>{_NUMBER})(?P<suffix>Ki|Mi|Gi|Ti|Pi|Ei|[eE][+-]?\d+|[numkMGTPE]?)$", re.ASCII)
# Upstream reads the exponent as an int32. Below -400 any non-zero value rounds up to 1n; above +400
# podgym refuses the quantity rather than build an astronomically large exact number.
_MAX_EXPONENT = 400
_NANO = Fraction(1, 10**9)
_MAX = Fraction(2**63 - 1)


def _round_away(x: Fraction) -> int:
    """Round away from zero, as inf.RoundUp does."""
    return math.ceil(x) if x >= 0 else -math.ceil(-x)


@dataclass(frozen=True, order=True)
class Quantity:
    """An exact resource quantity (e.g. ``100m`` cpu, ``1Gi`` memory)."""

    amount: Fraction

    def value(self) -> int:
        """The value in base units, rounded up (Go ``Quantity.Value()``)."""
        return _round_away(self.amount)

    def milli_value(self) -> int:
        """The value in thousandths, rounded up (Go ``Quantity.MilliValue()``), e.g. milli-cpu."""
        return _round_away(self.amount * 1000)

    def as_fraction(self) -> Fraction:
        """The exact value."""
        return self.amount

    def __str__(self) -> str:
        a = self.amount
        if a.denominator == 1:
            return str(a.numerator)
        if (a * 1000).denominator == 1:
            return f"{a * 1000}m"
        return f"{(a * 10**9).numerator}n" if (a * 10**9).denominator == 1 else str(float(a))


def parse_quantity(raw: str | int | float, *, field: str | None = None, obj: str | None = None) -> Quantity:
    """Parse a quantity as Kubernetes does ("100m", "0.5", "1Gi", "1G", "1e3", "1Ki", 2, 0.5).

    Raises KubeObjectError naming `obj` and `field` when `raw` is not a quantity.
    """
    if isinstance(raw, bool) or not isinstance(raw, (str, int, float)):
        raise KubeObjectError(
            f"expected a quantity such as '100m' or '1Gi', got {type(raw).__name__} {raw!r}", obj=obj, field=field
        )
    suffix = ""
    if isinstance(raw, int):
        amount = Fraction(raw)
    elif isinstance(raw, float):
        if not math.isfinite(raw):
            raise KubeObjectError(f"quantity must be finite, got {raw!r}", obj=obj, field=field)
        # JSON numbers reach Go as their decimal text; repr() gives the shortest text that round-trips.
        return parse_quantity(repr(raw), field=field, obj=obj)
    else:
        m = _QUANTITY.match(raw)
        if m is None:
            raise KubeObjectError(
                f"quantity {raw!r} is malformed: expected a number with an optional suffix "
                "(m, k, M, G, T, P, E, Ki, Mi, Gi, Ti, Pi, Ei, or an exponent like e3)",
                obj=obj,
                field=field,
            )
        num, suffix = m.group("num"), m.group("suffix")
        amount = Fraction(num)
        if suffix in _BINARY:
            amount *= 2 ** _BINARY[suffix]
        elif suffix[:1] in ("e", "E") and len(suffix) > 1:
            exponent = int(suffix[1:])
            if not -(2**31) <= exponent < 2**31 or exponent > _MAX_EXPONENT:
                raise KubeObjectError(f"quantity {raw!r} has an exponent out of range", obj=obj, field=field)
            amount *= Fraction(10) ** max(exponent, -_MAX_EXPONENT)
        else:
            amount *= Fraction(10) ** _DECIMAL[suffix]
    sign = -1 if amount < 0 else 1
    magnitude = abs(amount)
    if magnitude:
        magnitude = math.ceil(magnitude / _NANO) * _NANO
    if suffix in _BINARY:  # upstream caps only binary-SI quantities
        magnitude = min(magnitude, _MAX)
    return Quantity(sign * magnitude)
