"""``titrator run``, ``demo``, ``train``, ``resume SESSION``: build the app's services, start it.

Everything that can be checked before the nurse types a word is checked first: the site
configuration, the product library, the reaction policy and the data directory (created if
missing, then written, synced and locked by a probe). A problem is one line and a non-zero exit,
never a setup that fails at its end. An unexpected error inside the app is a short notice and a
private crash file (`titrator.files.crash`); the exit code is then `EXIT_CRASH`.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from titrator.audit.paths import DEFAULT_MIN_FREE_BYTES, ENV_DATA_DIR, default_data_dir
from titrator.cli.parsing import Parser, add_data_dir, add_library, error_line, speed_arg
from titrator.domain.setup import identifier_problem
from titrator.files.config import AppConfig, field_source, load_config
from titrator.files.datadir import DataDirError, check_data_dir
from titrator.files.library import Library, LibraryFileError, load_library
from titrator.files.policy import LoadedPolicy, load_policy
from titrator.pump.base import EventHook, PumpAdapter, WireHook
from titrator.pump.manual import ManualPump
from titrator.shell.clocks import Clock, ScaledClock, SystemClock
from titrator.tui.services import AppServices, PumpFactory

if TYPE_CHECKING:
    # The simulator, the serial driver and training load only for the commands that use them
    # (issue 17: `titrator run` with the manual pump starts without them).
    from titrator.shell.shipping import BackgroundShipper
    from titrator.training.scenarios import TrainingScenario

EXIT_CRASH = 70
"""Exit code after an unexpected error (the traceback is in a private crash file)."""

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

PUMP_HELP = (
    "manual (the default: the nurse sets the pump and types what it shows), sim (the bundled "
    "simulator), or a serial port: /dev/ttyUSB0, socket://host:port"
)
DATA_DIR_HELP = "where audit logs are written (default: the site config's, or TITRATOR_DATA_DIR)"


def local_today() -> date:
    """Today's date on this workstation (the 8-week first-infusion rule counts local days)."""
    return datetime.now().astimezone().date()


def add_app_options(parser: argparse.ArgumentParser) -> None:
    """The options every command that opens the nurse's app takes."""
    parser.add_argument("--config", type=Path, metavar="FILE", help="site configuration file")
    add_library(parser)
    parser.add_argument(
        "--policy", type=Path, metavar="FILE", help="reaction policy file (default: the site's)"
    )
    add_data_dir(parser, DATA_DIR_HELP)


def run_parser() -> Parser:
    """The options of ``titrator run``."""
    return _parser("titrator run", demo=False)


def demo_parser() -> Parser:
    """The options of ``titrator demo``."""
    return _parser("titrator demo", demo=True)


def _parser(prog: str, demo: bool) -> Parser:
    if demo:
        description = (
            "The nurse's app on the bundled pump simulator with a demo patient, marked TRAINING. "
            "F2 moves on, F9 is STOP, Ctrl+Q quits."
        )
    else:
        description = "The nurse's app at the bedside: plan, run and record one infusion."
    parser = Parser(prog=prog, description=description)
    add_app_options(parser)
    if demo:
        parser.add_argument(
            "--speed",
            type=speed_arg,
            default=30.0,
            metavar="N",
            help="time runs N times faster (default 30)",
        )
    else:
        parser.add_argument("--pump", default="manual", metavar="PUMP", help=PUMP_HELP)
        parser.add_argument(
            "--order-id",
            metavar="ID",
            help="the order this infusion carries out: pre-fills the setup form's Order ID",
        )
    return parser


@dataclass(frozen=True)
class Prepared:
    """What was loaded and checked before the app starts.

    Attributes:
        config: the site configuration.
        library: the product library.
        loaded: the reaction policy and its SHA-256.
        data_dir: the checked directory the session's audit log goes to.
        key_file: the site's HMAC key file, if configured.
    """

    config: AppConfig
    library: Library
    loaded: LoadedPolicy
    data_dir: Path
    key_file: Path | None


def data_dir_source(args: argparse.Namespace, config: AppConfig) -> tuple[Path, str, str]:
    """The data directory, where it was named (for errors) and the text as given there."""
    if getattr(args, "data_dir", None) is not None:
        return args.data_dir, "--data-dir", str(args.data_dir)
    if config.data_dir is not None:
        where = f"data_dir in {field_source('data_dir', getattr(args, 'config', None))}"
        return config.data_dir, where, str(config.data_dir)
    if os.environ.get(ENV_DATA_DIR):
        return default_data_dir(), ENV_DATA_DIR, os.environ[ENV_DATA_DIR]
    path = default_data_dir()
    return path, "data directory", str(path)


def checked_data_dir(
    prog: str, args: argparse.Namespace, config: AppConfig, *, training: bool
) -> Path | None:
    """The data directory (``training/`` below it in training), checked; None after an error.

    The error is one line on standard error: the option (or config field) that named the
    directory, why it cannot be used, and the text as given.
    """
    base, where, typed = data_dir_source(args, config)
    directory = base / "training" if training else base
    try:
        check_data_dir(directory, DEFAULT_MIN_FREE_BYTES)
    except DataDirError as error:
        reason = error.reason if directory == base else f"{directory}: {error.reason}"
        print(error_line(prog, where, reason, typed), file=sys.stderr)
        return None
    return directory


def _print_file_error(prog: str, error: LibraryFileError) -> None:
    for line in error.lines():
        print(f"{prog}: error: {line}", file=sys.stderr)


def prepare(prog: str, args: argparse.Namespace, *, training: bool) -> Prepared | int:
    """Load the configuration, library and policy and check the data directory.

    Returns:
        What the app needs, or the exit code after a one-line error (1 a data file, 2 the
        data directory).
    """
    try:
        config = load_config(args.config)
        library = load_library([*config.library_dirs, *args.library])
        loaded = load_policy(args.policy or config.policy_file)
    except LibraryFileError as error:
        _print_file_error(prog, error)
        return 1
    data_dir = checked_data_dir(prog, args, config, training=training)
    if data_dir is None:
        return 2
    from titrator.cli.site_key import key_for_writing
    from titrator.files.site_key import SiteKeyError

    try:  # the site key: configured, or created on first use (never inside the data directory)
        key_file, created = key_for_writing(getattr(args, "key_file", None), config, data_dir)
    except SiteKeyError as error:
        print(error_line(prog, "key_file", error.reason), file=sys.stderr)
        return 2
    if created:
        print(f"{prog}: created the site audit key {key_file} (mode 0600)", file=sys.stderr)
    return Prepared(config, library, loaded, data_dir, key_file)


@contextmanager
def _pump_source(spec: str, speed: float) -> Iterator[tuple[PumpFactory, str]]:
    """A pump factory for `spec` (and the simulator's lifetime, when one is started)."""
    if spec == "manual":

        def manual(wire: WireHook, event: EventHook) -> PumpAdapter:
            return ManualPump(on_event=event)

        yield manual, "manual"
        return
    if spec == "sim":
        from simulator import ModelConfig, Simulator

        with Simulator(ModelConfig(safe_timeout_s=10), speed=speed) as sim:
            sim.start_pty()
            yield _serial_factory(lambda: sim.url), "simulator"
        return
    yield _serial_factory(lambda: spec), "serial"


def _serial_factory(locate: Callable[[], str]) -> PumpFactory:
    def serial(wire: WireHook, event: EventHook) -> PumpAdapter:
        from titrator.pump.newera.driver import NewEraPump

        return NewEraPump(locate(), locate=locate, on_wire=wire, on_event=event)

    return serial


def _services(
    prepared: Prepared,
    *,
    clock: Clock,
    pump_factory: PumpFactory,
    pump_kind: str,
    training: bool,
) -> AppServices:
    return AppServices(
        library=prepared.library,
        policy=prepared.loaded.policy,
        policy_sha256=prepared.loaded.sha256,
        config=prepared.config,
        clock=clock,
        pump_factory=pump_factory,
        pump_kind=pump_kind,
        data_dir=prepared.data_dir,
        key_file=prepared.key_file,
        training=training,
        today=local_today,
        setup_defaults=dict(DEMO_PATIENT) if training else {},
        shipping=None if training else _shipping(prepared),
    )


def _shipping(prepared: Prepared) -> BackgroundShipper | None:
    """Background shipping to the configured ward store (`ward_db`); None when none is set."""
    config = prepared.config
    if config.ward_db is None:
        return None
    from titrator.store.sender import background_shipper

    return background_shipper(
        prepared.data_dir, config.ward_db, key_file=prepared.key_file, ward=config.ward
    )


def launch(services: AppServices) -> int:
    """Run the app; its exit code, or `EXIT_CRASH` after an unexpected error (notice shown)."""
    from titrator.cli.collector import app_opening
    from titrator.tui.app import TitratorApp

    app = TitratorApp(services)
    app_opening()  # start-up's loading is done: the collector runs again (issue 17)
    result = app.run()
    if app.crash_notice is not None:
        return EXIT_CRASH
    return result if isinstance(result, int) else 0


def run_main(argv: Sequence[str]) -> int:
    """``titrator run [--pump manual|sim|URL]``: the bedside app."""
    parser = _parser("titrator run", demo=False)
    args = parser.parse_args(argv)
    order_problem = None if args.order_id is None else identifier_problem(args.order_id)
    if order_problem is not None:
        parser.error(f"--order-id: {order_problem}")  # not echoed: it may identify the patient
    prepared = prepare("titrator run", args, training=False)
    if isinstance(prepared, int):
        return prepared
    with _pump_source(args.pump, 1.0) as (factory, kind):
        services = _services(
            prepared, clock=SystemClock(), pump_factory=factory, pump_kind=kind, training=False
        )
        if args.order_id is not None:
            services.setup_defaults["order_id"] = args.order_id.strip()
        return launch(services)


def open_resumed(args: argparse.Namespace, session_id: str, key_file: Path | None) -> int:
    """Open the app on its resume screen for `session_id` (``titrator resume SESSION``).

    `args` carries the app's options (`pump`, `config`, `library`, `policy`, `data_dir`).
    """
    prepared = prepare("titrator resume", args, training=False)
    if isinstance(prepared, int):
        return prepared
    with _pump_source(args.pump, 1.0) as (factory, kind):
        services = _services(
            prepared, clock=SystemClock(), pump_factory=factory, pump_kind=kind, training=False
        )
        services.resume_session_id = session_id
        services.key_file = key_file or services.key_file
        return launch(services)


def demo_main(argv: Sequence[str]) -> int:
    """``titrator demo [--speed N]``: the app on the bundled simulator, marked TRAINING."""
    prog = "titrator demo"
    args = _parser(prog, demo=True).parse_args(argv)
    if not args.speed > 0:
        got = argv_text(argv, "--speed")
        print(error_line(prog, "--speed", "must be greater than 0", got), file=sys.stderr)
        return 2
    prepared = prepare(prog, args, training=True)
    if isinstance(prepared, int):
        return prepared
    with _pump_source("sim", args.speed) as (factory, kind):
        return launch(
            _services(
                prepared,
                clock=ScaledClock(args.speed),
                pump_factory=factory,
                pump_kind=kind,
                training=True,
            )
        )


def argv_text(argv: Sequence[str], option: str) -> str | None:
    """The text typed for `option` in `argv` (``--opt VALUE`` or ``--opt=VALUE``), if any."""
    words = list(argv)
    for index, word in enumerate(words):
        if word == option and index + 1 < len(words):
            return words[index + 1]
        if word.startswith(option + "="):
            return word[len(option) + 1 :]
    return None


def train_app(
    training_scenario: TrainingScenario,
    prepared: Prepared,
    *,
    speed: float,
) -> int:
    """``titrator train SCENARIO``: the app on the simulator with the scenario's patient.

    `prepared` is from `prepare(..., training=True)`: its data directory is checked.
    """
    from titrator.training.session import TrainingSession

    config = prepared.config
    config = config.model_copy(update={"station_id": TrainingSession.station_id(config.station_id)})
    with TrainingSession(training_scenario, speed=speed) as training:
        training.start_pump("pty")
        services = AppServices(
            library=prepared.library,
            policy=prepared.loaded.policy,
            policy_sha256=prepared.loaded.sha256,
            config=config,
            clock=ScaledClock(speed),
            pump_factory=_serial_factory(lambda: training.simulator.url),
            pump_kind="simulator",
            data_dir=prepared.data_dir,
            key_file=prepared.key_file,
            training=True,
            today=local_today,
            setup_defaults=training.setup_defaults(local_today()),
            offer_resume=False,
            training_hooks=training,
        )
        return launch(services)
