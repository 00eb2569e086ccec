"""The simulated pump as a protocol peer, driven directly (no ports) on a manual clock."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from simulator.clock import ManualClock
from simulator.model import ModelConfig, PumpModel
from simulator.wire import CommandDecoder, crc_ccitt_xmodem, frame_reply


def _pump(**config: object) -> tuple[PumpModel, ManualClock, ManualClock]:
    clock, comms = ManualClock(), ManualClock()
    options: dict[str, object] = {"power_up_quirk": False}
    options.update(config)
    return PumpModel(ModelConfig(**options), clock=clock, comms_clock=comms), clock, comms  # type: ignore[arg-type]


def test_the_simulators_own_crc_matches_the_manual() -> None:
    assert crc_ccitt_xmodem(b"SAF0") == 0x5543
    assert frame_reply("00S", safe=True) == bytes.fromhex("02 07 30 30 53 aa a6 03")


def test_rate_units_are_locked_while_running() -> None:
    pump, _, _ = _pump()
    assert pump.handle("0RAT5MH") == "00S"
    assert pump.handle("0RUN") == "00I"
    assert pump.handle("0RAT10MH") == "00I?NA"
    assert pump.handle("0RAT10") == "00I"
    assert pump.handle("0RAT") == "00I10.00MH"


@pytest.mark.parametrize("value", ["0", "0.05", "1000", "12345", "1.2345"])
def test_out_of_range_rates_are_refused_not_clamped(value: str) -> None:
    pump, _, _ = _pump()
    pump.handle("0RAT5MH")
    assert pump.handle(f"0RAT{value}MH") == "00S?OOR"
    assert pump.handle("0RAT") == "00S5.000MH"


def test_purge_is_refused() -> None:
    pump, _, _ = _pump()
    assert pump.handle("0PUR") == "00S?NA"


def test_volume_is_integrated_and_the_vtbi_stops_the_pump() -> None:
    pump, clock, _ = _pump()
    for command in ("0VOLML", "0VOL2", "0RAT120MH", "0RUN"):
        pump.handle(command)
    clock.advance(30)
    assert pump.handle("0DIS") == "00II1.000W0.000ML"
    clock.advance(3600)
    assert pump.handle("0DIS") == "00SI2.000W0.000ML"
    assert pump.snapshot()["vtbi_completions"] == 1


def test_an_alarm_is_sent_unasked_and_the_next_command_only_acknowledges_it() -> None:
    pump, _, _ = _pump(safe_timeout_s=10)
    pump.take_unsolicited()
    pump.handle("0")
    pump.handle("0")
    pump.handle("0RAT5MH")
    pump.handle("0RUN")
    pump.raise_alarm("S")
    assert pump.take_unsolicited() == ["00A?S"]
    assert pump.handle("0RAT10") == "00A?S"
    assert pump.handle("0RAT") == "00S5.000MH"


def test_the_watchdog_stops_the_pump_when_the_host_goes_quiet() -> None:
    pump, _, comms = _pump(safe_timeout_s=5)
    pump.handle("0")  # acknowledges the power-up reset alarm and arms the watchdog
    pump.handle("0RAT5MH")
    pump.handle("0RUN")
    comms.advance(4.9)
    pump.tick()
    assert pump.snapshot()["prompt"] == "I"
    comms.advance(0.2)
    pump.tick()
    assert pump.snapshot()["prompt"] == "S"
    assert "00A?T" in pump.take_unsolicited()


def test_a_power_reset_loses_the_running_rate_and_ignores_the_first_command() -> None:
    pump, _, _ = _pump(power_up_quirk=True)
    assert pump.handle("0") is None  # the very first command after power-up
    pump.handle("0RAT5MH")
    pump.handle("0RUN")
    pump.handle("0RAT9")
    pump.power_reset()
    assert pump.handle("0") is None
    assert pump.handle("0") == "00A?R"
    assert pump.handle("0RAT") == "00S5.000MH"


def test_commands_for_another_address_are_ignored() -> None:
    pump, _, _ = _pump(address=3)
    assert pump.handle("0") is None
    assert pump.handle("3") == "03S"


def test_the_decoder_drops_a_partial_packet_after_half_a_second() -> None:
    decoder = CommandDecoder()
    assert decoder.feed(b"0RA", 0.0, safe=False) == []
    packets = decoder.feed(b"0\r", 0.6, safe=False)
    assert [p.text for p in packets] == ["0"]


def test_a_bad_crc_from_the_host_gets_com() -> None:
    pump, _, _ = _pump(safe_timeout_s=10)
    raw = bytearray(frame_reply("0RUN", safe=True))
    raw[-2] ^= 1
    [packet] = CommandDecoder().feed(bytes(raw), 0.0, safe=True)
    assert packet.error == "crc"
    assert pump.note_invalid_packet("crc") == "00A?R?COM"
    assert Decimal(pump.snapshot()["rate"]) == 0


_PRINTABLE = st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126), max_size=40)


@given(body=_PRINTABLE, split=st.integers(min_value=0, max_value=50))
def test_a_pump_in_basic_mode_also_takes_a_safe_framed_packet(body: str, split: int) -> None:
    # nesp-lib sends SAF Safe-framed whatever the mode; its CRC bytes may be CR, STX or ETX.
    stream = frame_reply(body, safe=True) + b"0ver\r"
    decoder = CommandDecoder()
    packets = decoder.feed(stream[:split], 0.0, safe=False)
    packets += decoder.feed(stream[split:], 0.1, safe=False)
    assert [(p.text, p.safe, p.error) for p in packets] == [
        (body.upper(), True, None),
        ("0VER", False, None),
    ]


def test_a_corrupt_safe_packet_in_basic_mode_is_reported_not_taken() -> None:
    raw = bytearray(frame_reply("0SAF10", safe=True))
    raw[-2] ^= 1
    [packet] = CommandDecoder().feed(bytes(raw), 0.0, safe=False)
    assert (packet.text, packet.error, packet.safe) == (None, "crc", True)


def test_in_safe_mode_a_basic_packet_is_still_ignored() -> None:
    assert CommandDecoder().feed(b"0RUN\r", 0.0, safe=True) == []
