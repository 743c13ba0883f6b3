"""The safe expression compiler: known answers and refusals with their messages."""

import numpy as np
import pytest

from tessera.engine.errors import ExpressionError
from tessera.engine.expression import compile_expression, compile_expressions

A = np.array([[1.0, 4.0], [9.0, 2.0]])
B = np.array([[3.0, 2.0], [1.0, 0.0]])  # 0 / 0 is NaN, 2 / 0 is inf


def evaluate(text):
    bands = {(0, 1): A, (0, 2): B, (1, 1): B}
    return compile_expression(text).evaluate(lambda key: bands[key])


@pytest.mark.parametrize("text, expected", [
    ("(b1 - b2) / (b1 + b2)", (A - B) / (A + B)),
    ("A1 * B1 + 1", A * B + 1),
    ("sqrt(b1) + abs(-b2) ** 2 // 2 % 3", np.sqrt(A) + (np.abs(-B) ** 2 // 2) % 3),
    ("where(b1 > b2, b1, b2)", np.maximum(A, B)),
    ("clip(b1, 1, 5)", np.clip(A, 1, 5)),
    ("(b1 > 1) & (b2 > 1) | ~(b1 < 9)", ((A > 1) & (B > 1)) | ~(A < 9)),
    ("1 < b1 <= 9", (A > 1) & (A <= 9)),
    ("b1 > 1 and not b2 > 2", (A > 1) & ~(B > 2)),
    ("arctan2(b1, b2) + log10(b1 + 1) + minimum(b1, 2) + maximum(b2, 2)",
     np.arctan2(A, B) + np.log10(A + 1) + np.minimum(A, 2) + np.maximum(B, 2)),
    ("isnan(b1 / b2) * 1 + isnan(b2 / b2)", np.array([[0.0, 0.0], [0.0, 1.0]])),
    ("-pi + e", np.full(A.shape, -np.pi + np.e)),
])
def test_known_answers(text, expected):
    with np.errstate(all="ignore"):
        np.testing.assert_allclose(evaluate(text) * np.ones(A.shape), expected)


def test_integer_ratio_is_not_truncated():
    ints = np.array([[3, 1]], dtype=np.uint16)
    got = compile_expression("b1 / b2").evaluate(lambda key: ints.astype(np.float64)[:, ::-1]
                                                 if key == (0, 2) else ints.astype(np.float64))
    np.testing.assert_allclose(got, [[3.0, 1 / 3]])


def test_bands_read_are_collected():
    assert compile_expression("b3 + C2 * A10").bands == {(0, 3), (2, 2), (0, 10)}


def test_semicolons_make_several_expressions():
    expressions = compile_expressions(" b1 + 1 ; B2*2 ")
    assert [e.text for e in expressions] == ["b1 + 1", "B2*2"]


@pytest.mark.parametrize("text, words", [
    ("__import__('os')", "the function '__import__' is not allowed"),
    ("b1.real", "attribute access"),
    ("(lambda: 1)()", "calling anything but a listed function"),
    ("lambda: 1", "lambda is not allowed"),
    ("b1[0]", "indexing"),
    ("'text'", "the constant 'text'"),
    ("open", "the name 'open'"),
    ("sqrt", "'sqrt' is a function"),
    ("where(b1, 1)", "where takes 3 argument(s), 2 given"),
    ("clip(b1, a_min=0, a_max=1)", "keyword arguments"),
    ("b1 @ b2", "the operator 'MatMult'"),
    ("b1 in b2", "the comparison 'In'"),
    ("[x for x in b1]", "'ListComp' syntax"),
    ("b0 + 1", "the name 'b0'"),
    ("b1 +", "is not valid"),
    ("x if b1 else b2", "use where(c, x, y)"),
])
def test_unsafe_or_malformed_expressions_are_refused(text, words):
    with pytest.raises(ExpressionError) as info:
        compile_expression(text)
    assert words in str(info.value)
    assert text in str(info.value)


def test_empty_entries_are_refused():
    with pytest.raises(ExpressionError, match="empty"):
        compile_expressions("  ")
    with pytest.raises(ExpressionError, match="remove the extra ';'"):
        compile_expressions("b1;;b2")
