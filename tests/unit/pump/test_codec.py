"""The New Era codec against the byte sequences in pump-protocol.md, and parser fuzzing."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from titrator.pump.newera.codec import (
    DecodeError,
    ErrorCode,
    Frame,
    FrameDecoder,
    Framing,
    Junk,
    NotRepresentableError,
    PumpAlarmCode,
    PumpPrompt,
    crc16_xmodem,
    encode_basic,
    encode_safe,
    format_number,
    parse_dispensed,
    parse_rate,
    parse_reply,
    parse_version,
    parse_volume,
)

VECTORS = [
    (b"0", "02 05 30 36 53 03"),
    (b"0RUN", "02 08 30 52 55 4e 44 07 03"),
    (b"0STP", "02 08 30 53 54 50 b3 f9 03"),
    (b"0RAT", "02 08 30 52 41 54 38 cb 03"),
    (b"0RAT5.000MH", "02 0f 30 52 41 54 35 2e 30 30 30 4d 48 75 cd 03"),
    (b"0DIS", "02 08 30 44 49 53 30 46 03"),
    (b"00S", "02 07 30 30 53 aa a6 03"),
    (b"00A?T", "02 09 30 30 41 3f 54 05 40 03"),
    (b"00S?OOR", "02 0b 30 30 53 3f 4f 4f 52 23 3f 03"),
]


def test_the_manuals_own_crc_example() -> None:
    assert crc16_xmodem(b"SAF0") == 0x5543
    assert encode_safe(b"SAF0") == bytes.fromhex("02 08 53 41 46 30 55 43 03")


@pytest.mark.parametrize(("data", "packet"), VECTORS)
def test_safe_packets_match_the_reference_bytes(data: bytes, packet: str) -> None:
    assert encode_safe(data) == bytes.fromhex(packet)


@pytest.mark.parametrize(("data", "packet"), VECTORS)
def test_safe_packets_decode_back_to_their_data(data: bytes, packet: str) -> None:
    assert FrameDecoder(Framing.SAFE).feed(bytes.fromhex(packet)) == [
        Frame(data, bytes.fromhex(packet))
    ]


def test_safe_frames_are_split_by_length_even_when_crc_bytes_look_like_etx() -> None:
    payload = next(
        bytes(f"00S{n}", "ascii")
        for n in range(100000)
        if _has_framing_byte(encode_safe(bytes(f"00S{n}", "ascii"))[-3:-1])
    )
    packet = encode_safe(payload)
    decoder = FrameDecoder(Framing.SAFE)
    assert decoder.feed(packet[:4]) == []
    assert decoder.feed(packet[4:] + packet) == [Frame(payload, packet), Frame(payload, packet)]


def _has_framing_byte(crc: bytes) -> bool:
    return 0x03 in crc or 0x02 in crc


def test_garbage_before_a_frame_is_reported_then_the_frame() -> None:
    packet = bytes.fromhex("02 07 30 30 53 aa a6 03")
    items = FrameDecoder(Framing.SAFE).feed(b"\xff\x13junk" + packet)
    assert items == [Junk(b"\xff\x13junk", "garbage"), Frame(b"00S", packet)]


def test_a_bad_crc_is_reported_as_such() -> None:
    packet = bytearray.fromhex("02 07 30 30 53 aa a6 03")
    packet[-2] ^= 0xFF
    [item] = FrameDecoder(Framing.SAFE).feed(bytes(packet))
    assert isinstance(item, Junk)
    assert item.reason == "bad crc"


def test_a_partial_frame_is_held_until_reset() -> None:
    decoder = FrameDecoder(Framing.SAFE)
    assert decoder.feed(bytes.fromhex("02 07 30 30")) == []
    assert decoder.reset() == bytes.fromhex("02 07 30 30")
    assert decoder.partial == b""


def test_basic_mode_framing() -> None:
    assert encode_basic(b"0RAT5MH") == b"0RAT5MH\r"
    assert FrameDecoder(Framing.BASIC).feed(b"\x0200S\x03") == [Frame(b"00S", b"\x0200S\x03")]


@pytest.mark.parametrize(
    ("data", "prompt", "alarm", "rest", "error"),
    [
        (b"00S", PumpPrompt.STOPPED, None, "", None),
        (b"00I5.000MH", PumpPrompt.INFUSING, None, "5.000MH", None),
        (b"00A?T", None, PumpAlarmCode.COMMS_TIMEOUT, "", None),
        (b"00S?OOR", PumpPrompt.STOPPED, None, "", ErrorCode.OUT_OF_RANGE),
        (b"07P?", PumpPrompt.PAUSED, None, "", ErrorCode.UNRECOGNISED),
    ],
)
def test_replies_parse(
    data: bytes,
    prompt: PumpPrompt | None,
    alarm: PumpAlarmCode | None,
    rest: str,
    error: ErrorCode | None,
) -> None:
    reply = parse_reply(data)
    assert (reply.prompt, reply.alarm, reply.data, reply.error) == (prompt, alarm, rest, error)


@pytest.mark.parametrize("data", [b"", b"0S", b"00Q", b"00A?Z", b"00S?XYZ", b"\xff\xfe", b"00S\n"])
def test_malformed_replies_are_decode_errors(data: bytes) -> None:
    with pytest.raises(DecodeError):
        parse_reply(data)


def test_value_parsers() -> None:
    assert parse_rate("5.000MH") == (Decimal("5.000"), "MH")
    assert parse_volume("250.0ML") == (Decimal("250.0"), "ML")
    assert parse_dispensed("I1.250W0.000ML") == (Decimal("1.250"), Decimal(0), "ML")
    assert parse_version("NE1000V3.928") == ("NE1000", "3.928")
    assert parse_version("NE500X2V3.928") == ("NE500", "3.928")
    with pytest.raises(DecodeError):
        parse_rate("5.000XX")


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("5", "5"),
        ("5.0", "5"),
        ("0.125", "0.125"),
        ("150.5", "150.5"),
        ("9999", "9999"),
        ("0", "0"),
    ],
)
def test_numbers_are_formatted_exactly(value: str, text: str) -> None:
    assert format_number(Decimal(value)) == text


@pytest.mark.parametrize("value", ["12345", "150.25", "0.0005", "-1", "NaN", "Infinity"])
def test_numbers_the_pump_cannot_take_exactly_are_refused(value: str) -> None:
    with pytest.raises(NotRepresentableError):
        format_number(Decimal(value))


@given(st.lists(st.binary(max_size=40), max_size=10), st.sampled_from(list(Framing)))
def test_the_decoder_never_raises_on_arbitrary_bytes(chunks: list[bytes], framing: Framing) -> None:
    decoder = FrameDecoder(framing)
    for chunk in chunks:
        for item in decoder.feed(chunk):
            if isinstance(item, Frame):
                try:
                    parse_reply(item.data)
                except DecodeError:
                    continue
    decoder.reset()


@given(st.binary(max_size=60))
def test_reply_parsing_raises_only_decode_errors(data: bytes) -> None:
    try:
        parse_reply(data)
    except DecodeError:
        return


@given(st.text(max_size=30))
def test_value_parsers_raise_only_decode_errors(text: str) -> None:
    for parse in (parse_rate, parse_volume, parse_dispensed, parse_version):
        try:
            parse(text)
        except DecodeError:
            continue


@given(st.binary(max_size=60))
def test_valid_frames_survive_surrounding_noise(noise: bytes) -> None:
    packet = encode_safe(b"00I5.000MH")
    items = FrameDecoder(Framing.SAFE).feed(noise.replace(b"\x02", b"") + packet)
    assert items[-1] == Frame(b"00I5.000MH", packet)


@given(st.lists(st.binary(min_size=1, max_size=40), min_size=1, max_size=6))
def test_reading_what_the_decoder_wants_never_reads_past_a_safe_frame(
    payloads: list[bytes],
) -> None:
    stream = b"".join(encode_safe(data) for data in payloads)
    decoder = FrameDecoder(Framing.SAFE)
    frames: list[Frame | Junk] = []
    position = 0
    while position < len(stream):
        wanted = decoder.wanted()
        assert wanted is not None
        assert wanted >= 1
        chunk = stream[position : position + wanted]
        position += len(chunk)
        got = decoder.feed(chunk)
        if got:  # a frame completes exactly at the end of what was wanted
            assert decoder.partial == b""
            assert decoder.wanted() == 2
        frames += got
    assert frames == [Frame(data, encode_safe(data)) for data in payloads]


def test_a_basic_reply_has_no_known_size() -> None:
    decoder = FrameDecoder(Framing.BASIC)
    decoder.feed(b"\x0200S")
    assert decoder.wanted() is None
