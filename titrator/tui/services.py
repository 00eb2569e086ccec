"""What the app is built from: injected by `cli.py`, built the same way with fakes by tests.

The app never reads a clock, opens a file or a port on its own: the clock, the pump adapter and
the audit-writer factory come from here.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from titrator.domain.site import SiteLimits
from titrator.files.config import AppConfig, site_limits
from titrator.pump.base import EventHook, PumpAdapter, WireHook

if TYPE_CHECKING:
    # Types only: the audit writer and the engine load when a session opens, not with the app
    # (issue 17, start-up).
    from titrator.audit.writer import AuditWriter
    from titrator.domain.clock import Instant
    from titrator.domain.policy import Policy
    from titrator.domain.session.decision import Decision
    from titrator.domain.setup import InfusionSetup, RiskFactor
    from titrator.files.library import Library
    from titrator.shell.clocks import Clock
    from titrator.shell.controller import InfusionController
    from titrator.shell.shipping import BackgroundShipper

PumpFactory = Callable[[WireHook, EventHook], PumpAdapter]
"""Builds the pump adapter with the app's wire and event hooks (called once, at start)."""


def new_session_id(now: datetime) -> str:
    """A unique, file-name-safe session id: ``20261120-0900-3f9a1c``."""
    return f"{now:%Y%m%d-%H%M}-{secrets.token_hex(3)}"


class TrainingHooks(Protocol):
    """What a training scenario adds to the app (`titrator.training.session.TrainingSession`)."""

    def briefing(self) -> str:
        """What the trainee is told before the start."""
        ...

    def risk_factors(self) -> tuple[RiskFactor, ...]:
        """Risk factors to tick on the setup screen."""
        ...

    def mark_setup(self, setup: InfusionSetup) -> InfusionSetup:
        """The setup with the training marks (recorded in `session_opened`)."""
        ...

    def attach(self, controller: InfusionController, now: Instant) -> None:
        """Called right after `session_opened` is recorded."""
        ...

    def tick(self, now: Instant) -> list[str]:
        """Bedside cues that fall due now."""
        ...

    def on_decision(self, decision: Decision, now: Instant) -> list[str]:
        """Called after every applied decision; cues to show."""
        ...

    def monitor(self) -> dict[str, str]:
        """The simulated monitor's vital signs, as text."""
        ...

    def complaints(self) -> list[str]:
        """What the patient says now."""
        ...

    def debrief_text(self, audit_path: Path, html_path: Path) -> str:
        """The debrief as text, after writing it as a page at `html_path`."""
        ...


@dataclass
class AppServices:
    """Everything the app needs from outside.

    Attributes:
        library: the product library.
        policy: the reaction policy in force.
        policy_sha256: SHA-256 of the policy file (recorded with the session).
        config: the site configuration.
        clock: the clock (real, accelerated, or moved by a test).
        pump_factory: builds the pump adapter (manual, New Era serial, simulator, fake).
        pump_kind: "manual", "serial" or "simulator", shown on screen.
        data_dir: where audit logs are written.
        key_file: the site's HMAC key file, if configured.
        training: True for the demo and training: marked TRAINING everywhere, also in the log.
        today: the local date (the 8-week first-infusion rule).
        setup_defaults: values to pre-fill on the setup screen (the demo patient).
        sync_each_record: fsync every audit record (always, except in benchmarks).
        session_id: makes a new session's id from the wall time (tests fix it).
        key_monotonic: the clock the rate confirmation times keys with (bounce detection).
        offer_resume: look for unfinished sessions at start-up and offer to resume them.
        resume_session_id: `titrator resume SESSION`: offer only this session (no new one).
        training_hooks: a running training scenario (the simulated patient, cues, debrief).
        shipping: ships closed sessions to the ward store in the background (None: no store
            configured, or training).
    """

    library: Library
    policy: Policy
    config: AppConfig
    clock: Clock
    pump_factory: PumpFactory
    data_dir: Path
    today: Callable[[], date]
    pump_kind: str = "manual"
    policy_sha256: str = ""
    key_file: Path | None = None
    training: bool = False
    setup_defaults: dict[str, str] = field(default_factory=dict)
    sync_each_record: bool = True
    session_id: Callable[[datetime], str] = new_session_id
    key_monotonic: Callable[[], float] = time.monotonic
    offer_resume: bool = True
    resume_session_id: str | None = None
    training_hooks: TrainingHooks | None = None
    shipping: BackgroundShipper | None = None

    @property
    def spool_dir(self) -> Path:
        """Where records go while the audit log cannot be written (`spool_dir` in the config)."""
        from titrator.audit.spool import default_spool_dir

        return self.config.spool_dir or default_spool_dir()

    @property
    def site(self) -> SiteLimits:
        """The site limits the planner needs."""
        return site_limits(self.config)

    def open_audit(self, session_id: str, nurse_id: str) -> AuditWriter:
        """Create the audit log of a new session."""
        from titrator.audit.writer import AuditWriter

        return AuditWriter.create(
            session_id,
            station_id=self.config.station_id,
            nurse_id=nurse_id,
            data_dir=self.data_dir,
            key_file=self.key_file,
            clock=self.clock,
            sync_each_record=self.sync_each_record,
            spool_dir=self.spool_dir,
        )
