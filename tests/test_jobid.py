"""Flux job ids in the forms people write them (flux_hub.jobid)."""

import pytest

from flux_hub import jobid


@pytest.mark.parametrize(
    "number, f58",
    [
        (0, "ƒ1"),
        (1, "ƒ2"),
        (57, "ƒz"),
        (58, "ƒ21"),
        (2**53 + 1, "ƒ2DLNrMSKui"),
        (2**64 - 1, "ƒjpXCZedGfVQ"),
    ],
)
def test_f58_round_trips(number, f58):
    assert jobid.f58(number) == f58
    assert jobid.parse(f58) == jobid.parse("f" + f58[1:]) == number
    assert jobid.parse(str(number)) == jobid.parse(hex(number)) == jobid.parse(number) == number


def test_dothex_and_kvs_forms():
    assert jobid.parse("0000.0001.0000.0002") == (1 << 32) + 2
    assert jobid.parse("job.0000.0001.0000.0002") == (1 << 32) + 2


@pytest.mark.parametrize(
    "text", ["", "ƒ", "ƒ0", "fO", "²", "-1", "1.5", "0x", "job.1", str(2**64), True, None, 1.0]
)
def test_anything_else_is_refused_with_a_sentence(text):
    with pytest.raises(ValueError, match="is not a Flux job id"):
        jobid.parse(text)
