"""A fixed binary tree that merges per-window partial results as they arrive.

Partials are merged pairwise, left (earlier windows) into right, in a tree
whose shape depends only on the number of windows: node ``(level, k)`` merges
``(level - 1, 2k)`` with ``(level - 1, 2k + 1)``, and a node without a right
sibling moves up unchanged. Whatever order windows finish in, and wherever the
merges run (in this process or as tasks on a cluster), every merge sees the
same operands, so floating-point results do not depend on the executor. An
aligned block of ``2**level`` leaves merged on its own in this order is exactly
one node of the tree, so a cluster task may merge a batch of windows itself.
"""

from typing import Any, Callable, Dict, Optional, Tuple


class MergeTree:
    """Collects ``count`` leaves and merges each pair as soon as both are present.

    ``merge(left, right)`` returns the merged value; it may equally combine
    plain partials or submit a merge task and return its future.
    """

    def __init__(self, count: int, merge: Callable[[Any, Any], Any]):
        self._widths = [count]
        while self._widths[-1] > 1:
            self._widths.append((self._widths[-1] + 1) // 2)
        self._merge = merge
        self._waiting: Dict[Tuple[int, int], Any] = {}
        self._root: Optional[Any] = None
        self._covered = 0

    def add(self, index: int, value: Any, level: int = 0) -> None:
        """Place node ``index`` of ``level`` (a leaf, or the merge of the aligned leaves
        ``index * 2**level`` onwards, made elsewhere in this same order) and merge upwards
        as far as its siblings allow."""
        self._covered += min(1 << level, self._widths[0] - (index << level))
        position = index
        while level < len(self._widths) - 1:
            sibling = position ^ 1
            if sibling < self._widths[level]:
                other = self._waiting.pop((level, sibling), None)
                if other is None:
                    self._waiting[(level, position)] = value
                    return
                value = (self._merge(value, other) if position < sibling
                         else self._merge(other, value))
            level, position = level + 1, position // 2
        self._root = value

    @property
    def waiting(self) -> list:
        """The values still waiting for a sibling (what to release on an early stop)."""
        return list(self._waiting.values())

    @property
    def root(self) -> Any:
        """The merge of every leaf; all leaves must have been added."""
        if self._covered != self._widths[0]:
            raise RuntimeError(f"{self._covered} of {self._widths[0]} partials were merged")
        return self._root
