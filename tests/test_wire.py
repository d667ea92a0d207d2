"""kata.wire: what crosses between the judge and the learner's worker is data, rebuilt without eval or
unpickling; anything else becomes a reference the other side can only call back."""
from __future__ import annotations

import collections
from fractions import Fraction

import numpy as np
import pytest

from kata import wire


def round_trip(value, refs=None):
    handed = []

    def ref(v):
        handed.append(v)
        return {"__cb": len(handed) - 1}

    tree, bufs = wire.encode(value, refs or ref)
    return wire.decode(tree, bufs, lambda r: ("ref", r["__cb"])), handed


def test_plain_data_comes_back_equal():
    Point = collections.namedtuple("Point", "x y")
    value = {"a": [1, 2.5, None, True, "s", b"raw"], "t": (1, (2, 3)), "big": 1 << 70, "nan": float("nan"),
             "c": 1 + 2j, "p": Point(1, 2), "f": Fraction(1, 3), "sl": slice(1, None, 2)}
    back, handed = round_trip(value)
    assert handed == []
    assert back["a"] == value["a"] and back["t"] == value["t"] and back["big"] == value["big"]
    assert back["nan"] != back["nan"] and back["c"] == value["c"] and back["f"] == value["f"]
    assert back["p"] == (1, 2) and back["p"].x == 1 and back["sl"] == value["sl"]


def test_arrays_keep_dtype_and_shape():
    a = np.arange(12, dtype=np.int16).reshape(3, 4)[:, ::2]  # strided: sent as its values
    back, _ = round_trip(a)
    assert back.dtype == np.int16 and back.shape == (3, 2) and (back == a).all()
    for shape in [(), (0,), (2, 0, 3)]:  # a 0-d array stays 0-d, an empty one keeps its shape
        back, _ = round_trip(np.full(shape, 7, np.float32))
        assert back.shape == shape and back.dtype == np.float32


def test_strided_tensor_stays_strided():
    torch = pytest.importorskip("torch")
    t = torch.arange(24.0).reshape(4, 6)[:, 1:5]
    back, _ = round_trip(t)
    assert back.stride() == t.stride() and torch.equal(back, t)
    one = torch.arange(30.0)[3::7][:1]  # one element, stride 7: contiguous to torch, yet not stride 1
    back, _ = round_trip(one)
    assert torch.equal(back, one)


def test_a_function_is_a_reference_but_a_table_is_data():
    back, handed = round_trip([lambda i: 2 * i, wire.Table([0, 2, 4])])
    assert len(handed) == 1 and back[0] == ("ref", 0)
    table = back[1]
    assert isinstance(table, wire.Table) and [table(i) for i in range(3)] == [0, 2, 4]
    assert table(np.int64(2)) == 4


@pytest.mark.parametrize("bad", [3, -1, 1.0, True, "0"])
def test_a_table_refuses_what_it_does_not_define(bad):
    with pytest.raises(IndexError, match="defined for 0..2 only"):
        wire.Table([0, 2, 4])(bad)


@pytest.mark.parametrize("tree", [{"__nope": 1}, {"__nd": 5, "dt": "<f4", "sh": [1]}, {"__nt": "os.system", "f": ["a"], "v": [1]}])
def test_malformed_messages_are_refused(tree):
    with pytest.raises(wire.WireError):
        wire.decode(tree, [], lambda r: None)
