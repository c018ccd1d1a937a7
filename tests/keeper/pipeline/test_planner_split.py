"""A multi-leg intent is split into pairwise pieces that never exceed what the user signed."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from keeper.settlement.planner import _split, _weights

amounts = st.integers(min_value=0, max_value=2**160)
values = st.lists(st.floats(min_value=0, max_value=1e12), min_size=1, max_size=6)


@given(amount=amounts, usd=values)
def test_pieces_of_a_signed_amount_add_up_to_exactly_that_amount(amount, usd):
    parts = _split(amount, _weights(usd))

    assert sum(parts) == amount
    assert all(part >= 0 for part in parts)
    assert len(parts) == len(usd)


def test_the_float_rounding_that_overdrew_a_signed_maximum_is_gone():
    # Seen on the seeded market: int(amount * share) summed to 1,135 wei above the maximum.
    amount = 7_083_718_382_163_645_103
    parts = _split(amount, _weights([41_234.57, 58_765.43]))

    assert sum(parts) == amount
    assert parts[0] == amount * 412_345_700 // 1_000_000_000


def test_split_follows_the_usd_values_and_all_zero_values_split_evenly():
    assert _split(1_000, _weights([1.0, 3.0])) == [250, 750]
    assert _split(10, _weights([0.0, 0.0])) == [5, 5]
