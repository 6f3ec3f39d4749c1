"""McCabe cyclomatic complexity of Python code, computed from the ``ast`` (never executed).

Each function or method is one unit with complexity 1 plus one for each decision point:

* ``if`` and each ``elif`` (an ``elif`` is a nested ``if``), and each conditional expression
  ``a if c else b``;
* ``for`` / ``async for`` / ``while`` loops, plus one more when the loop has an ``else`` clause;
* each ``except`` clause;
* each boolean operator: ``a and b or c`` adds 2 (one per operand after the first);
* each ``for`` and each ``if`` inside a comprehension or generator expression;
* each ``case`` of a ``match``, except an irrefutable catch-all (``case _:`` or ``case name:``
  without a guard), which plays the role of ``else``.

``else``, ``finally``, ``with``, ``assert``, ``return`` and ``raise`` add nothing. A nested
function is its own unit and does not add to the function around it; lambdas belong to the
unit they appear in. Code outside any function (module level and class bodies) forms one more
unit, ``<module>``, counted only when it does more than import, define and document, or when the
snippet has no function at all.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from statistics import fmean

_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)
_DECLARATIONS = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.Pass)


@dataclass(frozen=True)
class UnitComplexity:
    """The complexity of one function, method (``Class.method``) or of ``<module>``."""

    name: str
    line: int
    complexity: int


def _decisions(node: ast.AST) -> int:
    """Decision points contributed by ``node`` itself (not by its children)."""
    if isinstance(node, ast.If | ast.IfExp | ast.ExceptHandler):
        return 1
    if isinstance(node, ast.For | ast.AsyncFor | ast.While):
        return 1 + (1 if node.orelse else 0)
    if isinstance(node, ast.BoolOp):
        return len(node.values) - 1
    if isinstance(node, ast.comprehension):
        return 1 + len(node.ifs)
    if isinstance(node, ast.match_case):
        catch_all = isinstance(node.pattern, ast.MatchAs) and node.pattern.pattern is None
        return 0 if catch_all and node.guard is None else 1
    return 0


def _is_docstring(stmt: ast.stmt) -> bool:
    return (
        isinstance(stmt, ast.Expr)
        and isinstance(stmt.value, ast.Constant)
        and isinstance(stmt.value.value, str)
    )


def _has_own_code(body: list[ast.stmt]) -> bool:
    """Whether module-level (or class-level) statements do more than declare things."""
    for stmt in body:
        if isinstance(stmt, ast.ClassDef):
            if _has_own_code(stmt.body):
                return True
        elif not isinstance(stmt, _DECLARATIONS) and not _is_docstring(stmt):
            return True
    return False


def unit_complexities(tree: ast.Module) -> list[UnitComplexity]:
    """Complexity of every unit of ``tree``, in source order (``<module>`` first if counted).

    The walk is iterative, so deeply nested code cannot exhaust the Python stack here.
    """
    names = ["<module>"]
    lines = [1]
    counts = [1]
    # (node, index of the unit it belongs to, qualified-name prefix for nested definitions)
    stack: list[tuple[ast.AST, int, str]] = [(tree, 0, "")]
    while stack:
        node, unit, prefix = stack.pop()
        if isinstance(node, _FUNCTIONS):
            names.append(prefix + node.name)
            lines.append(node.lineno)
            counts.append(1)
            own = len(counts) - 1
            # Decorators, defaults and annotations run in the enclosing scope.
            outer = [*node.decorator_list, node.args]
            if node.returns is not None:
                outer.append(node.returns)
            stack.extend((child, unit, prefix) for child in reversed(outer))
            inner_prefix = f"{prefix}{node.name}.<locals>."
            stack.extend((child, own, inner_prefix) for child in reversed(node.body))
            continue
        counts[unit] += _decisions(node)
        child_prefix = f"{prefix}{node.name}." if isinstance(node, ast.ClassDef) else prefix
        children = list(ast.iter_child_nodes(node))
        stack.extend((child, unit, child_prefix) for child in reversed(children))

    units = [UnitComplexity(n, ln, c) for n, ln, c in zip(names, lines, counts, strict=True)]
    functions = sorted(units[1:], key=lambda u: u.line)
    if not functions or _has_own_code(tree.body):
        return [units[0], *functions]
    return functions


def complexity_summary(tree: ast.Module) -> tuple[float, float]:
    """(max, mean) cyclomatic complexity over the units of ``tree``."""
    values = [u.complexity for u in unit_complexities(tree)]
    return float(max(values)), fmean(values)
