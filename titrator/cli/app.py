"""``titrator run``, ``demo``, ``train``, ``resume SESSION``: build the app's services, start it.

Kept apart from `titrator.cli.main` so that planning and validation never import the UI.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path

from simulator import ModelConfig, Simulator
from titrator.audit.paths import default_data_dir
from titrator.files.config import AppConfig, load_config
from titrator.files.library import Library, LibraryFileError, load_library
from titrator.files.policy import LoadedPolicy, load_policy
from titrator.pump.base import EventHook, PumpAdapter, WireHook
from titrator.pump.manual import ManualPump
from titrator.pump.newera.driver import NewEraPump
from titrator.shell.clocks import Clock, ScaledClock, SystemClock
from titrator.training.scenarios import TrainingScenario
from titrator.tui.services import AppServices, PumpFactory

DEMO_PATIENT = {
    "nurse_id": "TRAINEE",
    "patient_id_1": "DEMO-0001",
    "patient_id_2": "1980-01-31",
    "weight_kg": "70",
    "product_id": "privigen",
    "indication_id": "pi",
    "dose_g_per_kg": "0.4",
    "lot": "DEMO-LOT-1",
    "last_infusion": "",
    "last_product_id": "never",
}
"""The demo's pre-filled patient (a treatment-naive first infusion)."""


def local_today() -> date:
    """Today's date on this workstation (the 8-week first-infusion rule counts local days)."""
    return datetime.now().astimezone().date()


def _parser(prog: str, demo: bool) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, description=__doc__)
    parser.add_argument("--config", type=Path, help="site configuration file")
    parser.add_argument("--library", type=Path, action="append", default=[], metavar="DIR")
    parser.add_argument("--policy", type=Path, help="reaction policy file (site)")
    parser.add_argument("--data-dir", type=Path, help="where audit logs are written")
    if demo:
        parser.add_argument(
            "--speed", type=float, default=30.0, help="time runs N times faster (default 30)"
        )
    else:
        parser.add_argument(
            "--pump",
            default="manual",
            help="manual (default), sim (the bundled simulator), or a serial URL: "
            "/dev/ttyUSB0, socket://host:port",
        )
    return parser


@contextmanager
def _pump_source(spec: str, speed: float) -> Iterator[tuple[PumpFactory, str]]:
    """A pump factory for `spec` (and the simulator's lifetime, when one is started)."""
    if spec == "manual":

        def manual(wire: WireHook, event: EventHook) -> PumpAdapter:
            return ManualPump(on_event=event)

        yield manual, "manual"
        return
    if spec == "sim":
        with Simulator(ModelConfig(safe_timeout_s=10), speed=speed) as sim:
            sim.start_pty()
            yield _serial_factory(lambda: sim.url), "simulator"
        return
    yield _serial_factory(lambda: spec), "serial"


def _serial_factory(locate: Callable[[], str]) -> PumpFactory:
    def serial(wire: WireHook, event: EventHook) -> PumpAdapter:
        return NewEraPump(locate(), locate=locate, on_wire=wire, on_event=event)

    return serial


def _services(
    args: argparse.Namespace,
    *,
    clock: Clock,
    pump_factory: PumpFactory,
    pump_kind: str,
    training: bool,
) -> AppServices:
    config: AppConfig = load_config(args.config)
    library = load_library([*config.library_dirs, *args.library])
    loaded = load_policy(args.policy or config.policy_file)
    data_dir = args.data_dir or config.data_dir or default_data_dir()
    if training:
        data_dir = data_dir / "training"
    return AppServices(
        library=library,
        policy=loaded.policy,
        policy_sha256=loaded.sha256,
        config=config,
        clock=clock,
        pump_factory=pump_factory,
        pump_kind=pump_kind,
        data_dir=data_dir,
        key_file=config.key_file,
        training=training,
        today=local_today,
        setup_defaults=dict(DEMO_PATIENT) if training else {},
    )


def _launch(build: Callable[[], AppServices]) -> int:
    from titrator.tui.app import TitratorApp

    try:
        services = build()
    except LibraryFileError as error:
        for line in error.lines():
            print(f"titrator: {line}", file=sys.stderr)
        return 1
    result = TitratorApp(services).run()
    return result if isinstance(result, int) else 0


def run_main(argv: Sequence[str]) -> int:
    """``titrator run [--pump manual|sim|URL]``: the bedside app."""
    args = _parser("titrator run", demo=False).parse_args(argv)
    with _pump_source(args.pump, 1.0) as (factory, kind):
        return _launch(
            lambda: _services(
                args, clock=SystemClock(), pump_factory=factory, pump_kind=kind, training=False
            )
        )


def open_resumed(args: argparse.Namespace, session_id: str, key_file: Path | None) -> int:
    """Open the app on its resume screen for `session_id` (``titrator resume SESSION``).

    `args` carries the app's options (`pump`, `config`, `library`, `policy`, `data_dir`).
    """
    with _pump_source(args.pump, 1.0) as (factory, kind):

        def build() -> AppServices:
            services = _services(
                args, clock=SystemClock(), pump_factory=factory, pump_kind=kind, training=False
            )
            services.resume_session_id = session_id
            services.key_file = key_file or services.key_file
            return services

        return _launch(build)


def demo_main(argv: Sequence[str]) -> int:
    """``titrator demo [--speed N]``: the app on the bundled simulator, marked TRAINING."""
    args = _parser("titrator demo", demo=True).parse_args(argv)
    if not args.speed > 0:
        print("titrator demo: error: --speed: must be greater than 0", file=sys.stderr)
        return 2
    with _pump_source("sim", args.speed) as (factory, kind):
        return _launch(
            lambda: _services(
                args,
                clock=ScaledClock(args.speed),
                pump_factory=factory,
                pump_kind=kind,
                training=True,
            )
        )


def train_app(
    training_scenario: TrainingScenario,
    library: Library,
    loaded: LoadedPolicy,
    *,
    speed: float,
    data_dir: Path | None,
) -> int:
    """``titrator train SCENARIO``: the app on the simulator with the scenario's patient."""
    from titrator.training.session import TrainingSession
    from titrator.tui.app import TitratorApp

    config = load_config(None)
    config = config.model_copy(update={"station_id": TrainingSession.station_id(config.station_id)})
    with TrainingSession(training_scenario, speed=speed) as training:
        training.start_pump("pty")
        services = AppServices(
            library=library,
            policy=loaded.policy,
            policy_sha256=loaded.sha256,
            config=config,
            clock=ScaledClock(speed),
            pump_factory=_serial_factory(lambda: training.simulator.url),
            pump_kind="simulator",
            data_dir=(data_dir or config.data_dir or default_data_dir()) / "training",
            key_file=config.key_file,
            training=True,
            today=local_today,
            setup_defaults=training.setup_defaults(local_today()),
            offer_resume=False,
            training_hooks=training,
        )
        result = TitratorApp(services).run()
    return result if isinstance(result, int) else 0
