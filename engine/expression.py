"""A safe compiler for band-math expressions.

User text is parsed with :mod:`ast` and every node is checked against a
whitelist; the result is a small tree of tuples evaluated with numpy. Nothing
is ever passed to ``eval`` or ``exec``, so names, attributes, lambdas,
comprehensions, strings and keyword arguments simply do not exist here.

Grammar (Python syntax):

* band references: ``b1`` .. ``bN`` (first input), ``A1``, ``B3`` (input A
  band 1, input B band 3, inputs lettered in order);
* numbers and the constants ``pi``, ``e``, ``nan``, ``inf``;
* ``+ - * / // % **``, comparisons (chains allowed), ``& | ~`` and
  ``and or not`` (all logical: true where non-zero);
* the functions in :data:`FUNCTIONS`.

All arithmetic is float64 (a ratio of integers is never truncated).
"""

import ast
import re
from dataclasses import dataclass
from typing import Callable, Dict, FrozenSet, List, Tuple

import numpy as np

from .errors import ExpressionError

#: name -> (numpy function, number of arguments)
FUNCTIONS: Dict[str, Tuple[Callable, int]] = {
    "abs": (np.abs, 1), "sqrt": (np.sqrt, 1), "exp": (np.exp, 1), "log": (np.log, 1),
    "log10": (np.log10, 1), "sin": (np.sin, 1), "cos": (np.cos, 1), "tan": (np.tan, 1),
    "arcsin": (np.arcsin, 1), "arccos": (np.arccos, 1), "arctan": (np.arctan, 1),
    "arctan2": (np.arctan2, 2), "floor": (np.floor, 1), "ceil": (np.ceil, 1),
    "minimum": (np.minimum, 2), "maximum": (np.maximum, 2), "where": (np.where, 3),
    "clip": (np.clip, 3), "isnan": (np.isnan, 1),
}
CONSTANTS = {"pi": np.pi, "e": np.e, "nan": np.nan, "inf": np.inf}

_BINARY = {
    ast.Add: np.add, ast.Sub: np.subtract, ast.Mult: np.multiply, ast.Div: np.true_divide,
    ast.FloorDiv: np.floor_divide, ast.Mod: np.mod, ast.Pow: np.power,
    ast.BitAnd: np.logical_and, ast.BitOr: np.logical_or, ast.BitXor: np.logical_xor,
}
_UNARY = {ast.USub: np.negative, ast.UAdd: np.positive, ast.Invert: np.logical_not,
          ast.Not: np.logical_not}
_COMPARE = {ast.Lt: np.less, ast.LtE: np.less_equal, ast.Gt: np.greater,
            ast.GtE: np.greater_equal, ast.Eq: np.equal, ast.NotEq: np.not_equal}
_BOOL = {ast.And: np.logical_and, ast.Or: np.logical_or}
_FIRST_INPUT = re.compile(r"b(\d+)")
_LETTERED = re.compile(r"([A-Z])(\d+)")

_SYNTAX_NAMES = {"Attribute": "attribute access ('.')", "Lambda": "lambda",
                 "Subscript": "indexing ('[]')", "IfExp": "'x if c else y' (use where(c, x, y))",
                 "NamedExpr": "assignment", "JoinedStr": "a string"}

BandKey = Tuple[int, int]  # (0-based input index, 1-based band)


@dataclass(frozen=True)
class Expression:
    """A compiled expression: its text, the bands it reads, and its tree."""

    text: str
    bands: FrozenSet[BandKey]
    tree: tuple

    def evaluate(self, band: Callable[[BandKey], np.ndarray]) -> np.ndarray:
        """Evaluate with ``band(key)`` giving each referenced band as a float64 array."""
        with np.errstate(all="ignore"):
            return np.asarray(_evaluate(self.tree, band), dtype=np.float64)


def _evaluate(node: tuple, band):
    kind = node[0]
    if kind == "const":
        return node[1]
    if kind == "band":
        return band(node[1])
    function = node[1]
    return function(*(_evaluate(child, band) for child in node[2:]))


def band_name(key: BandKey) -> str:
    """The letter form of a band reference: (1, 3) -> 'B3'."""
    return f"{chr(ord('A') + key[0])}{key[1]}"


def compile_expressions(text: str) -> List[Expression]:
    """Compile ``;``-separated expressions, one per output band."""
    parts = [part.strip() for part in text.split(";")]
    if not any(parts):
        raise ExpressionError("the expression is empty: write one, e.g. (b4 - b3) / (b4 + b3)")
    if not all(parts):
        raise ExpressionError(
            f"expression list '{text}' has an empty entry: remove the extra ';'")
    return [compile_expression(part) for part in parts]


def compile_expression(text: str) -> Expression:
    """Parse and check one expression; raise :class:`ExpressionError` if unsafe or malformed."""
    try:
        parsed = ast.parse(text, mode="eval")
    except SyntaxError as exc:
        raise ExpressionError(
            f"expression '{text}' is not valid: {exc.msg} at column {exc.offset}") from None
    bands = set()
    tree = _Compiler(text, bands).visit(parsed.body)
    return Expression(text, frozenset(bands), tree)


class _Compiler:
    """Turns whitelisted AST nodes into evaluation tuples; rejects everything else."""

    def __init__(self, text: str, bands: set):
        self.text = text
        self.bands = bands

    def fail(self, what: str, hint: str) -> ExpressionError:
        return ExpressionError(f"expression '{self.text}': {what} is not allowed; {hint}")

    def visit(self, node: ast.AST) -> tuple:
        method = getattr(self, "visit_" + type(node).__name__, None)
        if method is None:
            kind = type(node).__name__
            raise self.fail(_SYNTAX_NAMES.get(kind, f"'{kind}' syntax"),
                            "use band references, numbers, operators and the listed functions")
        return method(node)

    def visit_Constant(self, node: ast.Constant) -> tuple:
        if isinstance(node.value, bool) or not isinstance(node.value, (int, float)):
            raise self.fail(f"the constant {node.value!r}", "only numbers are allowed")
        return ("const", float(node.value))

    def visit_Name(self, node: ast.Name) -> tuple:
        name = node.id
        if name in CONSTANTS:
            return ("const", CONSTANTS[name])
        match = _FIRST_INPUT.fullmatch(name)
        key = (0, int(match.group(1))) if match else None
        match = _LETTERED.fullmatch(name)
        if match:
            key = (ord(match.group(1)) - ord("A"), int(match.group(2)))
        if key is None or key[1] < 1:
            hint = (f"'{name}' is a function: call it like {name}(...)" if name in FUNCTIONS
                    else "use b1..bN, A1, B2 ..., pi, e, nan, inf or one of the functions "
                         + ", ".join(FUNCTIONS))
            raise self.fail(f"the name '{name}'", hint)
        self.bands.add(key)
        return ("band", key)

    def visit_BinOp(self, node: ast.BinOp) -> tuple:
        function = _BINARY.get(type(node.op))
        if function is None:
            raise self.fail(f"the operator '{type(node.op).__name__}'",
                            "use + - * / // % ** & | ^")
        return ("call", function, self.visit(node.left), self.visit(node.right))

    def visit_UnaryOp(self, node: ast.UnaryOp) -> tuple:
        return ("call", _UNARY[type(node.op)], self.visit(node.operand))

    def visit_BoolOp(self, node: ast.BoolOp) -> tuple:
        function = _BOOL[type(node.op)]
        tree = self.visit(node.values[0])
        for value in node.values[1:]:
            tree = ("call", function, tree, self.visit(value))
        return tree

    def visit_Compare(self, node: ast.Compare) -> tuple:
        operands = [node.left] + list(node.comparators)
        tree = None
        for left, op, right in zip(operands, node.ops, operands[1:]):
            function = _COMPARE.get(type(op))
            if function is None:
                raise self.fail(f"the comparison '{type(op).__name__}'",
                                "use < <= > >= == !=")
            pair = ("call", function, self.visit(left), self.visit(right))
            tree = pair if tree is None else ("call", np.logical_and, tree, pair)
        return tree

    def visit_Call(self, node: ast.Call) -> tuple:
        if not isinstance(node.func, ast.Name):
            raise self.fail("calling anything but a listed function",
                            "functions are " + ", ".join(FUNCTIONS))
        name = node.func.id
        if name not in FUNCTIONS:
            raise self.fail(f"the function '{name}'",
                            "functions are " + ", ".join(FUNCTIONS))
        if node.keywords:
            raise self.fail("keyword arguments", f"pass {name}'s arguments by position")
        function, arity = FUNCTIONS[name]
        if len(node.args) != arity:
            raise ExpressionError(
                f"expression '{self.text}': {name} takes {arity} argument(s), "
                f"{len(node.args)} given")
        return ("call", function) + tuple(self.visit(arg) for arg in node.args)
