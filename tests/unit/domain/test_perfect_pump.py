"""The perfect pump: confirms every command at once, and a status read tells its real rate."""

from __future__ import annotations

from decimal import Decimal

from tests.support.plans import at
from titrator.domain.decisions import PumpCommand, PumpCommandKind
from titrator.domain.events import PumpOutcome, PumpStatusRead
from titrator.domain.perfect_pump import PerfectPump


def test_a_rate_command_is_confirmed_with_the_commanded_rate() -> None:
    pump = PerfectPump()
    command = PumpCommand(command_id=3, kind=PumpCommandKind.START, rate_ml_per_h=Decimal(35))
    assert pump.reply(command, at(0)) == PumpOutcome(
        at=at(0), command_id=3, outcome="confirmed", reported_rate_ml_per_h=Decimal(35)
    )
    assert pump.rate_ml_per_h == 35


def test_a_status_read_reports_the_last_rate_that_reached_the_pump() -> None:
    pump = PerfectPump(Decimal(70))
    read = PumpCommand(command_id=1, kind=PumpCommandKind.READ_STATUS)
    assert pump.reply(read, at(1)) == PumpStatusRead(
        at=at(1), running=True, rate_ml_per_h=Decimal(70)
    )
    pump.reply(PumpCommand(command_id=2, kind=PumpCommandKind.PAUSE), at(2))
    assert pump.reply(read, at(3)) == PumpStatusRead(
        at=at(3), running=False, rate_ml_per_h=Decimal(0)
    )
