"""A headless session with a real audit log: the headless runner, controller and writer."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

from tests.support import paths as support_paths
from titrator.audit import AuditWriter, FileOps
from titrator.cli.simulate import build_parser, build_session
from titrator.cli.simulate import run_script as run_lines
from titrator.domain.clock import Clock, Instant
from titrator.shell.controller import InfusionController
from titrator.shell.headless import Runner
from titrator.shell.script import ORIGIN_MONO_MS

DATA = support_paths.DATA
SCRIPTS = DATA / "simulate"
CORPUS = DATA / "audit"
PATIENT = ["--product", "privigen", "--indication", "pi", "--weight-kg", "70"]
SIM_ARGS = [*PATIENT, "--dose-g-per-kg", "0.4"]
START = Instant(wall_utc=datetime(2026, 1, 5, 8, 0, tzinfo=UTC), mono_ms=ORIGIN_MONO_MS)
STATION = "bay-t"
NURSE = "rn-t"


class LoggedRun:
    """One scripted session driven through `InfusionController` into a real `AuditWriter`."""

    def __init__(
        self,
        data_dir: Path,
        session_id: str,
        script: str = "uneventful",
        *,
        auto_accept: bool = True,
        ops: FileOps | None = None,
        sync: bool = False,
        runner_cls: type[Runner] = Runner,
    ) -> None:
        extra = ["--auto-accept"] if auto_accept else []
        args = build_parser().parse_args(
            [*SIM_ARGS, *extra, "--events", "-", "--session-id", session_id]
        )
        self.session, policy_sha, library_sha = build_session(args)
        self.shas = (policy_sha, library_sha)
        self.controller = InfusionController(self.session, None)
        self.runner = runner_cls(self.controller, START, auto_accept)
        self.data_dir = data_dir
        self.session_id = session_id
        self.ops = ops
        self.sync = sync
        self.writer: AuditWriter | None = None
        self.lines = [
            line
            for line in (SCRIPTS / f"{script}.jsonl").read_text(encoding="utf-8").splitlines()
            if line.strip() and not line.startswith("#")
        ]

    def _open(self, clock: Clock) -> AuditWriter:
        self.writer = AuditWriter.create(
            self.session_id,
            station_id=STATION,
            nurse_id=NURSE,
            data_dir=self.data_dir,
            clock=clock,
            min_free_bytes=0,
            sync_each_record=self.sync,
            ops=self.ops,
        )
        return self.writer

    def run(self, lines: int | None = None, *, run_on: bool = True) -> int:
        """Run the first `lines` script lines (all by default)."""
        text = "\n".join(self.lines[:lines]) + "\n"
        return run_lines(self.runner, io.StringIO(text), self.shas, self._open, run_on=run_on)

    @property
    def path(self) -> Path:
        """The log."""
        return self.data_dir / f"{self.session_id}.jsonl"
