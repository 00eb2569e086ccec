"""The perfect pump: what a pump that does exactly what it is told replies, at once.

Headless runs play it (`titrator simulate`, the audit corpus and the review fixtures, through
`titrator.shell.headless.Runner`), and so do the engine tests, which drive the session without
the shell. Every start, rate change, pause and stop is confirmed with the commanded rate, and a
status read tells the truth: the rate of the last command that reached the pump. It is pure
(time is passed in), like the rest of the domain; a real pump's replies come from
`titrator.shell.controller.execute_command`.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from titrator.domain.clock import Instant
from titrator.domain.decisions import PumpCommand, PumpCommandKind
from titrator.domain.events import PumpOutcome, PumpStatusRead


@dataclass
class PerfectPump:
    """A pump that confirms every command at once and reports its rate truthfully.

    Attributes:
        rate_ml_per_h: what the pump runs at: the rate of the last command that reached it
            (0 after a pause or a stop). Commands the shell withholds never reach it.
    """

    rate_ml_per_h: Decimal = Decimal(0)

    def reply(self, command: PumpCommand, now: Instant) -> PumpOutcome | PumpStatusRead:
        """Carry out `command` and return the engine input that reports it.

        Args:
            command: the engine's command.
            now: the instant to stamp on the reply.

        Returns:
            A status read for `read_status`, else the command's confirmed outcome (with the
            commanded rate as the rate read back).
        """
        if command.kind is PumpCommandKind.READ_STATUS:
            rate = self.rate_ml_per_h
            return PumpStatusRead(at=now, running=rate > 0, rate_ml_per_h=rate)
        self.rate_ml_per_h = command.rate_ml_per_h or Decimal(0)
        return PumpOutcome(
            at=now,
            command_id=command.command_id,
            outcome="confirmed",
            reported_rate_ml_per_h=command.rate_ml_per_h,
        )
