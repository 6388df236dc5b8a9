"""Quantity parsing cases transcribed from upstream Kubernetes.

Source: kubernetes/kubernetes staging/src/k8s.io/apimachinery/pkg/api/resource/quantity_test.go
@ db8b216c556cbd896ffb49a0a7bf13443230d18c (the v1.33-v1.35 era file: randfill fuzzer, no int32 exponent check):
TestQuantityParse (table, negated "-" and explicit "+" variants, invalid list, empty string), TestQuantityParseZero,
TestQuantityParseNonNumericPanic, TestQuantityCmp (string table), TestQuantityParseEmit (values of the canonical
strings, and their negations), TestMilliNewSet / TestNewSet / TestNewScaledSet (round trip: the parsed canonical
string gives back the value), TestQuantityValueSet, TestStringQuantityAsApproximateFloat64 (exact value).
Two cases come from the newer upstream file @ 002cd1a0cd960ebe9d6f194d342384d6fe0fedcf, see below.

What is checked: the exact value (`as_fraction()`), and for non-negative values `value()` / `milli_value()`,
which are Go's ScaledValue(0) / ScaledValue(Milli) = ceil(q / 10^scale) (quantity.go: "MilliValue returns the
value of ceil(q * 1000)"); those two are only asserted where the result fits an int64 (Go overflows otherwise).
podgym does not implement String()/Format, so canonical-string and format assertions are not transcribed; the
expected `decQuantity(i, e, fmt)` of upstream is the exact value i * 10**e.

Facts from quantity.go (ParseQuantity, slow path) these cases rely on:
- "This rounds non-zero values up to the minimum representable value": the magnitude is rounded with
  `amount.Round(amount, Nano.infScale(), inf.RoundUp)`, i.e. UP to the next 1e-9 (sign re-applied afterwards).
- "The max is just a simple cap": `if format == BinarySI && amount.Cmp(maxAllowed.Dec) > 0 { amount.Set(maxAllowed) }`
  -- only BinarySI (Ki..Ei suffix) values are capped at 2^63-1 ("9Ei" -> 2^63-1) while "12E" stays 1.2e19.

Left out:
- TestParseQuantityString (internal scanner), TestQuantityRoundUp (RoundUp method), TestQuantityString /
  TestQuantityParseEmit canonical strings (String() not modelled), Cmp/Add/Sub/Mul/Neg/float tests on hand-built
  Quantity structs, JSON/CBOR/fuzz round trips.
- TestJSONWhitespace `" 1"` / `"1 "`: UnmarshalJSON strips whitespace before ParseQuantity; ParseQuantity itself
  rejects it (TestQuantityParse invalid list, transcribed). Its numeric JSON cases 1, 10, -1 are transcribed as ints.
- Newer upstream TestNegativeValueRoundsAwayFromZero cases "-.484785E-7466" and "-9.5000000001Gi": these take the
  inf.Dec path whose v1.35 scaledValue rounds negatives toward +inf (fixed after v1.35); the other cases of that test
  agree with v1.35 (int64 path rounds away from zero; positives ceil) and are transcribed.
- Newer upstream TestInterpretExponentInt32Bounds (suffix-layer only). Its ParseQuantity-level counterpart
  "1e4294967297" IS transcribed as invalid (newer upstream rejects exponents outside int32; v1.35 truncated it to
  1e1): podgym must reject such exponents rather than build 10**4294967297.
"""

from __future__ import annotations

from fractions import Fraction

import pytest

import podgym.envs.kube as kube

MAX_INT64 = 2**63 - 1  # upstream maxAllowed


def dec(i: int, exponent: int) -> Fraction:
    """Upstream decQuantity(i, exponent, _): the exact value i * 10**exponent."""
    return Fraction(i) * Fraction(10) ** exponent


# TestQuantityParse table: (input, exact expected value).
PARSE_TABLE: list[tuple[str, Fraction]] = [
    ("0", dec(0, 0)),
    ("0n", dec(0, 0)),
    ("0u", dec(0, 0)),
    ("0m", dec(0, 0)),
    ("0Ki", dec(0, 0)),
    ("0k", dec(0, 0)),
    ("0Mi", dec(0, 0)),
    ("0M", dec(0, 0)),
    ("0Gi", dec(0, 0)),
    ("0G", dec(0, 0)),
    ("0Ti", dec(0, 0)),
    ("0T", dec(0, 0)),
    # Quantity less numbers are allowed
    ("1", dec(1, 0)),
    # Binary suffixes
    ("1Ki", dec(1024, 0)),
    ("8Ki", dec(8 * 1024, 0)),
    ("7Mi", dec(7 * 1024 * 1024, 0)),
    ("6Gi", dec(6 * 1024 * 1024 * 1024, 0)),
    ("5Ti", dec(5 * 1024 * 1024 * 1024 * 1024, 0)),
    ("4Pi", dec(4 * 1024 * 1024 * 1024 * 1024 * 1024, 0)),
    ("3Ei", dec(3 * 1024 * 1024 * 1024 * 1024 * 1024 * 1024, 0)),
    ("10Ti", dec(10 * 1024 * 1024 * 1024 * 1024, 0)),
    ("100Ti", dec(100 * 1024 * 1024 * 1024 * 1024, 0)),
    # Decimal suffixes
    ("5n", dec(5, -9)),
    ("4u", dec(4, -6)),
    ("3m", dec(3, -3)),
    ("9", dec(9, 0)),
    ("8k", dec(8, 3)),
    ("50k", dec(5, 4)),
    ("7M", dec(7, 6)),
    ("6G", dec(6, 9)),
    ("5T", dec(5, 12)),
    ("40T", dec(4, 13)),
    ("300T", dec(3, 14)),
    ("2P", dec(2, 15)),
    ("1E", dec(1, 18)),
    # Decimal exponents
    ("1E-3", dec(1, -3)),
    ("1e3", dec(1, 3)),
    ("1E6", dec(1, 6)),
    ("1e9", dec(1, 9)),
    ("1E12", dec(1, 12)),
    ("1e15", dec(1, 15)),
    ("1E18", dec(1, 18)),
    # Nonstandard but still parsable
    ("1e14", dec(1, 14)),
    ("1e13", dec(1, 13)),
    ("1e3", dec(1, 3)),
    ("100.035k", dec(100035, 0)),
    # Things that look like floating point
    ("0.001", dec(1, -3)),
    ("0.0005k", dec(5, -1)),
    ("0.005", dec(5, -3)),
    ("0.05", dec(5, -2)),
    ("0.5", dec(5, -1)),
    ("0.00050k", dec(5, -1)),
    ("0.00500", dec(5, -3)),
    ("0.05000", dec(5, -2)),
    ("0.50000", dec(5, -1)),
    ("0.5e0", dec(5, -1)),
    ("0.5e-1", dec(5, -2)),
    ("0.5e-2", dec(5, -3)),
    ("0.5e0", dec(5, -1)),
    ("10.035M", dec(10035, 3)),
    ("1.2e3", dec(12, 2)),
    ("1.3E+6", dec(13, 5)),
    ("1.40e9", dec(14, 8)),
    ("1.53E12", dec(153, 10)),
    ("1.6e15", dec(16, 14)),
    ("1.7E18", dec(17, 17)),
    ("9.01", dec(901, -2)),
    ("8.1k", dec(81, 2)),
    ("7.123456M", dec(7123456, 0)),
    ("6.987654321G", dec(6987654321, 0)),
    ("5.444T", dec(5444, 9)),
    ("40.1T", dec(401, 11)),
    ("300.2T", dec(3002, 11)),
    ("2.5P", dec(25, 14)),
    ("1.01E", dec(101, 16)),
    # Things that saturate/round
    ("3.001n", dec(4, -9)),
    ("1.1E-9", dec(2, -9)),
    ("0.0000000001", dec(1, -9)),
    ("0.0000000005", dec(1, -9)),
    ("0.00000000050", dec(1, -9)),
    ("0.5e-9", dec(1, -9)),
    ("0.9n", dec(1, -9)),
    ("0.00000012345", dec(124, -9)),
    ("0.00000012354", dec(124, -9)),
    ("9Ei", Fraction(MAX_INT64)),
    ("9223372036854775807Ki", Fraction(MAX_INT64)),
    ("12E", dec(12, 18)),
    # We'll accept fractional binary stuff, too.
    ("100.035Ki", dec(10243584, -2)),
    ("0.5Mi", dec(524288, 0)),  # upstream decQuantity(.5*1024*1024, 0, BinarySI)
    ("0.05Gi", dec(536870912, -1)),
    ("0.025Ti", dec(274877906944, -1)),
    # Things written by trolls
    ("0.000000000001Ki", dec(2, -9)),  # rounds up, changes format
    (".001", dec(1, -3)),
    (".0001k", dec(100, -3)),
    ("1.", dec(1, 0)),
    ("1.G", dec(1, 9)),
]
PARSE_IDS = [s for s, _ in PARSE_TABLE]

# TestQuantityParse `invalid` list, plus the empty string checked at its start, "Non-Numeric"
# (TestQuantityParseNonNumericPanic) and "invalid" (TestQuantityValueSet).
INVALID = [
    "1.1.M",
    "1+1.0M",
    "0.1mi",
    "0.1am",
    "aoeu",
    ".5i",
    "1i",
    "-3.01i",
    "-3.01e-",
    # trailing whitespace is forbidden
    " 1",
    "1 ",
    "",
    "Non-Numeric",
    "invalid",
    # newer upstream (@ 002cd1a0): an exponent outside the int32 scale is rejected rather than truncated
    "1e4294967297",
]


def _ceil(x: Fraction) -> int:
    return -((-x.numerator) // x.denominator)


def _assert_exact(raw: str | int, expected: Fraction) -> None:
    q = kube.parse_quantity(raw)
    got = q.as_fraction()
    assert isinstance(got, Fraction)
    assert got == expected
    if expected >= 0:
        # Go ScaledValue: ceil(q / 10^scale); asserted only where Go does not overflow int64.
        if _ceil(expected) <= MAX_INT64:
            assert q.value() == _ceil(expected)
        if _ceil(expected * 1000) <= MAX_INT64:
            assert q.milli_value() == _ceil(expected * 1000)


@pytest.mark.parametrize(("raw", "expected"), PARSE_TABLE, ids=PARSE_IDS)
def test_quantity_parse(raw: str, expected: Fraction) -> None:
    _assert_exact(raw, expected)


@pytest.mark.parametrize(("raw", "expected"), PARSE_TABLE, ids=PARSE_IDS)
def test_quantity_parse_negative(raw: str, expected: Fraction) -> None:
    """TestQuantityParse: "Try the negative version of everything"."""
    assert kube.parse_quantity("-" + raw).as_fraction() == -expected


@pytest.mark.parametrize(("raw", "expected"), PARSE_TABLE, ids=PARSE_IDS)
def test_quantity_parse_explicit_plus(raw: str, expected: Fraction) -> None:
    """TestQuantityParse: "Try everything with an explicit +"."""
    _assert_exact("+" + raw, expected)


@pytest.mark.parametrize("raw", INVALID, ids=[repr(s) for s in INVALID])
def test_quantity_parse_invalid(raw: str) -> None:
    with pytest.raises(kube.KubeObjectError):
        kube.parse_quantity(raw)


def test_quantity_parse_invalid_is_value_error() -> None:
    with pytest.raises(ValueError):
        kube.parse_quantity("aoeu")


def test_quantity_parse_zero() -> None:
    """TestQuantityParseZero."""
    zero = kube.parse_quantity("0")
    assert zero.as_fraction() == 0
    assert zero.value() == 0
    assert zero.milli_value() == 0


# TestQuantityCmp: (x, y, sign of x - y).
CMP_TABLE = [("0", "0", 0), ("100m", "50m", 1), ("50m", "100m", -1), ("10000T", "100Gi", 1)]


@pytest.mark.parametrize(("x", "y", "cmp"), CMP_TABLE, ids=[f"{x} vs {y}" for x, y, _ in CMP_TABLE])
def test_quantity_cmp(x: str, y: str, cmp: int) -> None:
    a = kube.parse_quantity(x).as_fraction()
    b = kube.parse_quantity(y).as_fraction()
    assert (a > b) - (a < b) == cmp


# TestQuantityParseEmit: input -> canonical string upstream emits; here its exact value.
PARSE_EMIT = [
    ("1Ki", dec(1024, 0)),  # "1Ki"
    ("1Mi", dec(1024 * 1024, 0)),  # "1Mi"
    ("1Gi", dec(1024**3, 0)),  # "1Gi"
    ("1024Mi", dec(1024**3, 0)),  # "1Gi"
    ("1000M", dec(1, 9)),  # "1G"
    (".001Ki", dec(1024, -3)),  # "1024m"
    (".000001Ki", dec(1024, -6)),  # "1024u"
    (".000000001Ki", dec(1024, -9)),  # "1024n"
    (".000000000001Ki", dec(2, -9)),  # "2n"
]


@pytest.mark.parametrize(("raw", "expected"), PARSE_EMIT, ids=[s for s, _ in PARSE_EMIT])
def test_quantity_parse_emit(raw: str, expected: Fraction) -> None:
    _assert_exact(raw, expected)
    assert kube.parse_quantity("-" + raw).as_fraction() == -expected


# TestMilliNewSet, exact rows: NewMilliQuantity(value).String() re-parsed gives MilliValue() == value.
MILLI_NEW_SET = [("1m", 1), ("1", 1000), ("1234", 1234000), ("1e3", 1000000)]


@pytest.mark.parametrize(("canonical", "milli"), MILLI_NEW_SET, ids=[s for s, _ in MILLI_NEW_SET])
def test_milli_new_set_round_trip(canonical: str, milli: int) -> None:
    assert kube.parse_quantity(canonical).milli_value() == milli


# TestNewSet: NewQuantity(value).String() re-parsed gives Value() == value.
NEW_SET = [("1", 1), ("1k", 1000), ("1234k", 1234000), ("1Ki", 1024), ("1e6", 1000000), ("1Mi", 1024 * 1024)]


@pytest.mark.parametrize(("canonical", "value"), NEW_SET, ids=[s for s, _ in NEW_SET])
def test_new_set_round_trip(canonical: str, value: int) -> None:
    assert kube.parse_quantity(canonical).value() == value


# TestNewScaledSet: (value, scale, String()); re-parsed ScaledValue(scale) == value, i.e. exact value*10^scale.
NANO, MICRO, MILLI = -9, -6, -3
NEW_SCALED_SET = [
    (1, NANO, "1n"),
    (1000, NANO, "1u"),
    (1, MICRO, "1u"),
    (1000, MICRO, "1m"),
    (1, MILLI, "1m"),
    (1000, MILLI, "1"),
    (1, 0, "1"),
    (0, NANO, "0"),
    (0, MICRO, "0"),
    (0, MILLI, "0"),
    (0, 0, "0"),
]


@pytest.mark.parametrize(
    ("value", "scale", "canonical"), NEW_SCALED_SET, ids=[f"{v}e{s}={c}" for v, s, c in NEW_SCALED_SET]
)
def test_new_scaled_set_round_trip(value: int, scale: int, canonical: str) -> None:
    q = kube.parse_quantity(canonical)
    assert q.as_fraction() == dec(value, scale)
    if scale == MILLI:
        assert q.milli_value() == value
    if scale == 0:
        assert q.value() == value


def test_quantity_value_set() -> None:
    """TestQuantityValueSet: "invalid" fails (in INVALID), "1Mi" gives Value() 1024*1024."""
    assert kube.parse_quantity("1Mi").value() == 1024 * 1024


# TestStringQuantityAsApproximateFloat64 / TestStringQuantityAsFloat64Slow: the exact values behind those floats.
STRING_FLOAT = [("2Ki", Fraction(2048)), ("1.1Ki", Fraction(11264, 10)), ("1Mi", Fraction(1048576))]
STRING_FLOAT.append(("2Gi", Fraction(2147483648)))


@pytest.mark.parametrize(("raw", "expected"), STRING_FLOAT, ids=[s for s, _ in STRING_FLOAT])
def test_string_quantity_exact_value(raw: str, expected: Fraction) -> None:
    _assert_exact(raw, expected)


# TestJSONWhitespace, numeric JSON values (a number in the JSON object, not a string).
@pytest.mark.parametrize(("raw", "expected"), [(1, 1), (10, 10), (-1, -1)], ids=["1", "10", "-1"])
def test_json_number(raw: int, expected: int) -> None:
    q = kube.parse_quantity(raw)
    assert q.as_fraction() == expected
    assert q.value() == expected
    assert q.milli_value() == expected * 1000


# Newer upstream (@ 002cd1a0) TestNegativeValueRoundsAwayFromZero: (input, Value(), MilliValue()).
# "Value() and MilliValue() are documented to round to the nearest integer away from zero."
ROUND_AWAY = [
    (".484785E-7466", 1, 1),
    ("-.484785E-1", -1, -49),
    (".484785E-1", 1, 49),
    ("-0.0005", -1, -1),
    ("0.0005", 1, 1),
    ("-1500m", -2, -1500),
    ("1500m", 2, 1500),
    ("9.5000000001Gi", 10200547329, 10200547328108),
    ("-1", -1, -1000),
    ("1", 1, 1000),
    ("0", 0, 0),
]


@pytest.mark.parametrize(("raw", "value", "milli"), ROUND_AWAY, ids=[s for s, _, _ in ROUND_AWAY])
def test_value_rounds_away_from_zero(raw: str, value: int, milli: int) -> None:
    q = kube.parse_quantity(raw)
    assert q.value() == value
    assert q.milli_value() == milli
