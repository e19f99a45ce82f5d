"""The sandbox's wire format: every allowed type round-trips, everything else is refused, sizes are capped."""

import io

import numpy as np
import pytest

from dlcourse.sandbox import protocol
from dlcourse.sandbox.protocol import NamedFunction, ProtocolError, round_trip


def _same(a, b):
    assert type(a) is type(b), (a, b)
    if isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_array_equal(a, b)
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            _same(x, y)
    elif isinstance(a, dict):
        assert list(a) == list(b)
        for key in a:
            _same(a[key], b[key])
    elif isinstance(a, float) and np.isnan(a):
        assert np.isnan(b)
    else:
        assert a == b


@pytest.mark.parametrize("value", [
    None, True, False, 0, -7, 2**100, 1.5, float("inf"), float("-inf"), float("nan"), "", "héllo",
    (), (1, "a", None), [], [1, [2, (3.0,)]], {}, {"a": 1, "b": [1, 2], "__ndarray__": 3},
    np.arange(6, dtype=np.float32).reshape(2, 3), np.zeros((0, 3)), np.array(3.5), np.array([True, False]),
    np.array(["ab", "c"]), np.arange(5, dtype=np.int64)[::2], np.asfortranarray(np.ones((2, 3))),
    np.array([1 + 2j]), np.float32(1.25), np.float64(2.5), np.int64(7), np.bool_(True),
    {"nested": ({"x": np.ones(2)}, [np.float32(3)])}, NamedFunction("log_sum_exp"),
], ids=repr)
def test_round_trip(value):
    _same(value, round_trip(value))


def test_numpy_scalar_keeps_its_dtype():
    assert round_trip(np.float32(1.5)).dtype == np.float32


@pytest.mark.parametrize("bits", [np.random.PCG64, np.random.MT19937, np.random.Philox, np.random.SFC64])
def test_generator_round_trip_is_the_same_stream(bits):
    rng = np.random.Generator(bits(5))
    copy = round_trip(rng)
    np.testing.assert_array_equal(copy.normal(size=4), rng.normal(size=4))


def test_advanced_generator_state_updates_the_callers_generator():
    rng, twin = np.random.default_rng(3), np.random.default_rng(3)
    data, sent = protocol.encode_message({"args": [rng, {"again": rng}]})
    message, received = protocol.read_message(io.BytesIO(data))
    assert message["args"][0] is message["args"][1]["again"] is received[0]  # one object stays one object
    received[0].normal(size=10)
    protocol.update_generators(sent, protocol.generator_states(received))
    twin.normal(size=10)
    assert rng.normal() == twin.normal()


class _Custom:
    pass


@pytest.mark.parametrize("value, where", [
    (_Custom(), "_Custom"), (lambda x: x, "function"), ({1: 2}, "key 1"), (np.array([object()]), "dtype object"),
    (b"bytes", "bytes"), ({1, 2}, "set"), (np.ma.masked_array([1.0]), "ndarray subclass"),
    ([1, [2, {"k": _Custom()}]], r"value\[1\]\[1\]\['k'\]"),
])
def test_other_values_are_refused_with_a_clear_error(value, where):
    with pytest.raises(ProtocolError, match=where):
        protocol.encode_message({"value": value})


def test_nesting_is_capped():
    value = []
    for _ in range(protocol.MAX_DEPTH + 5):
        value = [value]
    with pytest.raises(ProtocolError, match="nested"):
        protocol.encode_message({"value": value})


def test_message_size_is_capped_both_ways():
    big = np.zeros(10_000)
    with pytest.raises(ProtocolError, match="exceeds the limit"):
        protocol.encode_message({"value": big}, max_bytes=50_000)
    data, _ = protocol.encode_message({"value": big})
    with pytest.raises(ProtocolError, match="exceeds the limit"):
        protocol.read_message(io.BytesIO(data), max_bytes=50_000)


def test_truncated_message_is_peer_closed():
    data, _ = protocol.encode_message({"value": np.ones(3)})
    with pytest.raises(protocol.PeerClosed):
        protocol.read_message(io.BytesIO(data[:-5]))


def test_unknown_tag_is_refused():
    with pytest.raises(ProtocolError, match="unknown tag"):
        protocol.decode_message([b'{"value": {"__pickle__": 1}}'])


@pytest.mark.parametrize("array", [np.zeros(3), np.arange(6, dtype=np.int32).reshape(2, 3), np.ones(()),
                                   np.ones((0, 4)), np.array([True, False]), np.array(["ab", "c"]),
                                   np.ones((2, 3)).T, np.ones(1, dtype=">f8"), np.zeros((2, 1, 3), np.float16),
                                   np.zeros(2, dtype=[("a", "<f8"), ("b", "<i4")])],
                         ids=lambda array: f"{array.dtype}{array.shape}")
def test_array_frames_are_exactly_what_np_save_writes(array):
    import io

    from dlcourse.sandbox.protocol import npy_array, npy_bytes

    saved = io.BytesIO()
    np.save(saved, np.ascontiguousarray(array) if array.ndim else array, allow_pickle=False)
    assert npy_bytes(array) == saved.getvalue()
    back = npy_array(npy_bytes(array))
    assert back.dtype == array.dtype and back.shape == array.shape and np.array_equal(back, array)
    assert back.flags.writeable


def test_bad_array_frames_are_refused():
    from dlcourse.sandbox.protocol import ProtocolError, npy_array, npy_bytes

    good = npy_bytes(np.arange(4.0))
    with pytest.raises(ProtocolError, match="bytes for shape"):
        npy_array(good[:-8])
    forged = good.replace(b"'<f8'", b"'|O8'")
    with pytest.raises(ProtocolError):
        npy_array(forged)
    with pytest.raises(ProtocolError):
        npy_array(b"not an array at all")
