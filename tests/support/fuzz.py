"""Hypothesis strategies for arbitrary input, shared by the parser fuzzing (tests/unit) and the server's
(tests/reliability)."""

from hypothesis import strategies as st

ANY_CHAR = st.characters(codec=None, exclude_categories=())
TEXT = st.text(ANY_CHAR, max_size=40)
SCALARS = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | TEXT
JSON = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4)
                    | st.dictionaries(TEXT, inner, max_size=4), max_leaves=12)

# -- the pure parsers ---------------------------------------------------------------------------
