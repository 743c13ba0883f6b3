"""The merge tree: one fixed shape per leaf count, whatever order leaves arrive in."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tessera.engine.merge_tree import MergeTree


def bracketed(left, right):
    return f"({left}{right})"


def expected_shape(leaves):
    """The documented tree: pair neighbours level by level, an odd last one moves up."""
    while len(leaves) > 1:
        leaves = [bracketed(*leaves[k:k + 2]) if k + 1 < len(leaves) else leaves[k]
                  for k in range(0, len(leaves), 2)]
    return leaves[0]


def test_five_leaves_give_the_documented_bracketing_in_any_order():
    for order in ([0, 1, 2, 3, 4], [4, 3, 2, 1, 0], [2, 4, 0, 3, 1]):
        tree = MergeTree(5, bracketed)
        for index in order:
            tree.add(index, "abcde"[index])
        assert tree.root == "(((ab)(cd))e)"
        assert tree.waiting == []


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 70).flatmap(lambda n: st.permutations(range(n))))
def test_any_arrival_order_gives_the_same_merges(order):
    names = [f"<{k}>" for k in range(len(order))]
    tree = MergeTree(len(order), bracketed)
    for index in order:
        tree.add(index, names[index])
    assert tree.root == expected_shape(names)


def test_a_missing_leaf_is_an_error_not_a_partial_total():
    tree = MergeTree(3, bracketed)
    tree.add(0, "a")
    tree.add(2, "c")
    assert sorted(tree.waiting) == ["a", "c"]  # what an early stop must release
    with pytest.raises(RuntimeError, match="2 of 3 partials were merged"):
        tree.root


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 70), st.integers(0, 4), st.randoms(use_true_random=False))
def test_aligned_batches_merged_apart_are_nodes_of_the_same_tree(count, level, random):
    """What the dask executor does: merge each aligned batch of 2**level leaves in a tree
    of its own, then add the batch totals at ``level``."""
    names = [f"<{k}>" for k in range(count)]
    size = 1 << level
    batches = []
    for number, start in enumerate(range(0, count, size)):
        part = MergeTree(min(size, count - start), bracketed)
        for offset, name in enumerate(names[start:start + size]):
            part.add(offset, name)
        batches.append((number, part.root))
    random.shuffle(batches)
    tree = MergeTree(count, bracketed)
    for number, total in batches:
        tree.add(number, total, level)
    assert tree.root == expected_shape(names)
