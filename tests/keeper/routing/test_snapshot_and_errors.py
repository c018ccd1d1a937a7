"""Snapshot JSON format and the errors bad input produces (each names its field)."""

from __future__ import annotations

import json

import pytest

from keeper.routing import (
    AmountError,
    NoRouteError,
    Snapshot,
    SnapshotError,
    UnknownTokenError,
    route,
)
from tests.keeper.routing.builders import TOKENS, snapshot, v2, v3


def sample() -> Snapshot:
    return snapshot(
        [v2(0, 0, 1, 10**21, 2 * 10**21), v3(1, 1, 2, 100, [(-600, 600, 10**20)])], n_tokens=3
    )


def test_snapshot_round_trips_through_json_with_amounts_as_integer_strings():
    snap = sample()
    text = snap.to_json()
    data = json.loads(text)

    assert data["pools"][0]["reserve0"] == str(10**21)
    assert data["pools"][1]["liquidity"] == str(10**20)
    assert data["pools"][1]["ticks"][0] == {"index": -600, "liquidity_net": str(10**20)}
    assert Snapshot.from_json(text) == snap


def test_snapshot_saves_and_loads_from_a_file(tmp_path):
    path = tmp_path / "pools.json"
    sample().save(path)
    assert Snapshot.load(path) == sample()


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda d: d["pools"][0].update(reserve0="12.5"), "pools.0.v2.reserve0"),
        (lambda d: d["pools"][0].update(reserve0=1.5), "pools.0.v2.reserve0"),
        (lambda d: d["pools"][0].update(token0="0x1234"), "pools.0.v2.token0"),
        (lambda d: d["pools"][1].update(fee=1_000_000), "pools.1.v3.fee"),
        (lambda d: d["pools"][1].update(sqrt_price_x96="1"), "pools.1.v3.sqrt_price_x96"),
        (lambda d: d["pools"][0].pop("reserve1"), "pools.0.v2.reserve1"),
        (lambda d: d["pools"][0].update(kind="v4"), "pools.0"),
    ],
)
def test_malformed_snapshot_is_rejected_naming_the_field(mutate, field):
    data = json.loads(sample().to_json())
    mutate(data)
    with pytest.raises(SnapshotError) as err:
        Snapshot.from_json(json.dumps(data))
    assert err.value.field.startswith(field)
    assert field in str(err.value)


def test_inconsistent_snapshots_are_rejected():
    data = json.loads(sample().to_json())
    data["pools"][1]["ticks"][0]["index"] = -601  # not a multiple of the spacing
    with pytest.raises(SnapshotError, match="tick_spacing"):
        Snapshot.from_json(json.dumps(data))
    data = json.loads(sample().to_json())
    data["tokens"] = data["tokens"][:2]  # a pool's token is missing
    with pytest.raises(SnapshotError, match="not in tokens"):
        Snapshot.from_json(json.dumps(data))
    with pytest.raises(SnapshotError, match=r"not valid JSON|Invalid JSON"):
        Snapshot.from_json("{not json")


def test_missing_snapshot_file_is_a_clear_error(tmp_path):
    with pytest.raises(SnapshotError, match="cannot read"):
        Snapshot.load(tmp_path / "nope.json")


def test_route_rejects_unknown_tokens_by_field():
    with pytest.raises(UnknownTokenError, match="sell: unknown token 'XYZ'"):
        route(sample(), "XYZ", "BBB", 10)
    with pytest.raises(UnknownTokenError, match="buy"):
        route(sample(), "AAA", TOKENS[4], 10)


@pytest.mark.parametrize("amount", [0, -1, 2**256])
def test_route_rejects_zero_negative_and_uint256_overflowing_amounts(amount):
    with pytest.raises(AmountError) as err:
        route(sample(), "AAA", "BBB", amount)
    assert err.value.field == "amount"


def test_route_rejects_an_amount_larger_than_every_pool_can_take():
    only_v3 = snapshot([v3(1, 0, 1, 0, [(-600, 600, 10**18)])], n_tokens=2)
    with pytest.raises(AmountError, match="exceeds the liquidity"):
        route(only_v3, "AAA", "BBB", 10**24)


def test_route_rejects_an_empty_pool_set_and_unconnected_tokens():
    with pytest.raises(SnapshotError, match="pools"):
        route(snapshot([], n_tokens=2), "AAA", "BBB", 10)
    with pytest.raises(NoRouteError):
        route(snapshot([v2(0, 0, 1, 10**20, 10**20)], n_tokens=3), "AAA", "CCC", 10)
    with pytest.raises(NoRouteError, match="same token"):
        route(sample(), "AAA", "aaa", 10)
