"""The codec's short cuts (issue 17) give exactly what the long way gives, for any input.

`command_frame` keeps framed commands, `FrameDecoder.feed` decodes a whole Safe frame without
the buffer (and keeps each frame's check), `parse_reply` and `parse_rate` keep parsed replies.
Each is compared here with the encoder, the buffered decoder or the parser it stands for, over
generated inputs, first and second time (the second is answered from what was kept).
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from titrator.pump.newera.codec import (
    DecodeError,
    Frame,
    FrameDecoder,
    Framing,
    Junk,
    command_data,
    command_frame,
    encode,
    encode_safe,
    parse_rate,
    parse_reply,
)

COMMANDS = st.one_of(
    st.sampled_from(["", "RAT", "RUN", "STP", "VOL", "VER", "SAF", "DIR", "DIS", "VOLML"]),
    st.builds(lambda r: f"RAT{r}MH", st.sampled_from(["5", "6", "0.125", "1200", "99.99"])),
    st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=40),
)


@given(st.integers(0, 99), COMMANDS, st.sampled_from(list(Framing)))
def test_a_kept_command_frame_is_the_encoders_own_bytes(
    address: int, command: str, framing: Framing
) -> None:
    expected = encode(command_data(address, command), framing)
    assert command_frame(address, command, framing) == expected
    assert command_frame(address, command, framing) == expected  # the kept one


@given(st.one_of(st.integers(max_value=-1), st.integers(min_value=100)), COMMANDS)
def test_a_command_to_a_bad_address_is_refused_every_time(address: int, command: str) -> None:
    for _ in range(2):
        with pytest.raises(ValueError, match=r"address must be 0\.\.99"):
            command_frame(address, command, Framing.SAFE)


def test_a_command_too_long_for_a_safe_frame_is_refused_every_time() -> None:
    for _ in range(2):
        with pytest.raises(ValueError, match="too long"):
            command_frame(0, "X" * 251, Framing.SAFE)


def _damaged(frame: bytes, at: int, value: int) -> bytes:
    at %= len(frame)
    return frame[:at] + bytes([value]) + frame[at + 1 :]


FRAMES = st.one_of(
    st.binary(max_size=40).map(encode_safe),
    st.builds(
        _damaged, st.binary(max_size=40).map(encode_safe), st.integers(0, 60), st.integers(0, 255)
    ),
    st.binary(max_size=60),
)


@given(st.lists(FRAMES, min_size=1, max_size=4))
def test_feeding_a_whole_frame_gives_what_the_buffered_decoder_gives(chunks: list[bytes]) -> None:
    quick, slow = FrameDecoder(Framing.SAFE), FrameDecoder(Framing.SAFE)
    for chunk in chunks:
        assert quick.feed(chunk) == slow._feed_buffered(chunk)
        assert quick.partial == slow.partial


@given(st.binary(max_size=40))
def test_a_bad_crc_is_reported_every_time_the_frame_comes(data: bytes) -> None:
    good = encode_safe(data)
    bad = good[:-3] + bytes([good[-3] ^ 0x01]) + good[-2:]
    decoder = FrameDecoder(Framing.SAFE)
    for _ in range(2):
        assert decoder.feed(good) == [Frame(data, good)]
        assert decoder.feed(bad) == [Junk(bad, "bad crc")]


def test_a_basic_decoder_never_takes_the_safe_short_cut() -> None:
    packet = encode_safe(b"00S")  # a whole Safe frame, but the link is in Basic mode
    assert FrameDecoder(Framing.BASIC).feed(packet) == FrameDecoder(Framing.BASIC)._feed_buffered(
        packet
    )


REPLIES = st.one_of(
    st.builds(
        lambda a, p, d: f"{a:02d}{p}{d}".encode(),
        st.integers(0, 99),
        st.sampled_from(["I", "W", "S", "P", "T", "U", "X", "A?R", "A?S", "A?T", "A?E", "A?O"]),
        st.sampled_from(["", "5.000MH", "?", "?OOR", "?NA", "?COM", "?IGN", "?XX", "NE1000V3.928"]),
    ),
    st.binary(max_size=30),
)


@given(REPLIES)
def test_a_kept_reply_is_what_parsing_gives(data: bytes) -> None:
    try:
        expected = parse_reply.__wrapped__(data)
    except DecodeError:
        for _ in range(2):  # refused every time: nothing is kept for bytes that do not parse
            with pytest.raises(DecodeError):
                parse_reply(data)
        return
    assert parse_reply(data) == expected
    assert parse_reply(data) == expected


@given(st.one_of(st.text(max_size=12), st.sampled_from(["5.000MH", "1200UM", "0.125UH", ".5MM"])))
def test_a_kept_rate_is_what_parsing_gives(text: str) -> None:
    try:
        expected = parse_rate.__wrapped__(text)
    except DecodeError:
        for _ in range(2):
            with pytest.raises(DecodeError):
                parse_rate(text)
        return
    assert parse_rate(text) == expected
    assert parse_rate(text) == expected
