"""`titrator train [SCENARIO]`: list the training scenarios, or run one.

    titrator train                       # list: id, title, what it teaches
    titrator train --list [--json]
    titrator train SCENARIO --headless perfect|careless [--html FILE] [--data-dir DIR]
    titrator train SCENARIO [--speed N]  # in the nurse's app, on the simulator

A headless run plays the scenario with a scripted trainee against the real engine, audit log
and pump protocol (the simulator on loopback TCP), prints the debrief and can write it as
HTML. Exit codes: 0 done, 2 bad arguments, an unusable scenario, policy or product file, or a
data directory that cannot be written.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from simulator.scenario import SCENARIO_DIR, ScenarioError
from titrator.cli.parsing import Parser, add_json, error_line, speed_arg
from titrator.files.library import LibraryFileError, load_library
from titrator.files.policy import PolicyFileError, load_policy
from titrator.training.report import render_text, write_html
from titrator.training.runner import TODAY, HeadlessRun
from titrator.training.scenarios import list_scenarios, load_training_scenario
from titrator.training.trainees import TRAINEES

PROG = "titrator train"


def build_parser() -> Parser:
    """The options of `titrator train`."""
    from titrator.cli.app import add_app_options

    parser = Parser(
        prog=PROG,
        description="Training scenarios on the bundled pump simulator, marked TRAINING: list "
        "them, run one in the nurse's app, or run one headless with a scripted trainee and print "
        "the debrief.",
    )
    parser.add_argument(
        "scenario", nargs="?", metavar="SCENARIO", help="scenario id (or a .toml path)"
    )
    parser.add_argument("--list", action="store_true", help="list the scenarios")
    add_json(parser, "the list of scenarios")
    parser.add_argument(
        "--speed",
        type=speed_arg,
        default=30.0,
        metavar="N",
        help="in the app, time runs N times faster (default 30)",
    )
    parser.add_argument(
        "--headless", choices=sorted(TRAINEES), help="run with a scripted trainee, no app"
    )
    parser.add_argument(
        "--html", type=Path, metavar="FILE", help="also write the debrief as an HTML page"
    )
    parser.add_argument(
        "--transport",
        choices=("tcp", "pty"),
        default="tcp",
        help="headless: how the simulator's pump line is connected (default tcp)",
    )
    add_app_options(parser)
    parser.add_argument("--scenario-dir", type=Path, default=SCENARIO_DIR, help=argparse.SUPPRESS)
    return parser


def _list(directory: Path, as_json: bool) -> int:
    try:
        scenarios = list_scenarios(directory)
    except ScenarioError as error:
        for line in error.lines():
            print(f"{PROG}: error: {line}", file=sys.stderr)
        return 2
    if as_json:
        rows = [{"id": s.id, "title": s.title, "teaches": s.teaches} for s in scenarios]
        print(json.dumps(rows, indent=2, ensure_ascii=False))
        return 0
    width = max((len(s.id) for s in scenarios), default=0)
    for scenario in scenarios:
        print(f"{scenario.id:<{width}}  {scenario.title}")
        print(f"{'':<{width}}  teaches: {scenario.teaches}")
    return 0


def train_main(argv: Sequence[str] | None = None) -> int:
    """Entry point of `titrator train`. Returns the exit code."""
    words = list(argv) if argv is not None else sys.argv[1:]
    try:
        args = build_parser().parse_args(words)
    except SystemExit as exit_:  # a one-line usage error (exit 2), or --help
        return exit_.code if isinstance(exit_.code, int) else 2
    if args.list or args.scenario is None:
        return _list(args.scenario_dir, args.json)
    if not args.speed > 0:
        from titrator.cli.app import argv_text

        got = argv_text(words, "--speed")
        print(error_line(PROG, "--speed", "must be greater than 0", got), file=sys.stderr)
        return 2
    if args.headless is None:
        return _in_app(args)
    if args.data_dir is not None:
        from titrator.cli.app import checked_data_dir
        from titrator.files.config import load_config

        try:
            config = load_config(args.config)
        except LibraryFileError as error:
            return _file_error(error)
        if checked_data_dir(PROG, args, config, training=False) is None:
            return 2
    try:
        library = load_library(args.library)
        loaded = load_policy(args.policy)
        training = load_training_scenario(
            args.scenario, library, loaded.policy, TODAY, args.scenario_dir
        )
    except KeyError:
        return _no_scenario(args.scenario)
    except (ScenarioError, LibraryFileError, PolicyFileError) as error:
        return _file_error(error)
    with tempfile.TemporaryDirectory(prefix="titrator-train-") as scratch:
        data_dir = args.data_dir or Path(scratch)
        run = HeadlessRun(
            training,
            TRAINEES[args.headless](),
            library=library,
            policy=loaded,
            data_dir=data_dir,
            transport=args.transport,
        )
        result = run.run()
        sys.stdout.write(render_text(result.debrief))
        if args.data_dir is not None:
            print(f"Audit log (TRAINING): {result.audit_path}")
        if args.html is not None:
            print(f"Debrief page: {write_html(result.debrief, args.html)}")
    return 0


def _in_app(args: argparse.Namespace) -> int:
    """The scenario in the nurse's app; the data directory is checked before anything."""
    from titrator.cli.app import prepare, train_app

    prepared = prepare(PROG, args, training=True)
    if isinstance(prepared, int):
        return prepared
    try:
        training = load_training_scenario(
            args.scenario, prepared.library, prepared.loaded.policy, TODAY, args.scenario_dir
        )
    except KeyError:
        return _no_scenario(args.scenario)
    except (ScenarioError, LibraryFileError) as error:
        return _file_error(error)
    return train_app(training, prepared, speed=args.speed)


def _no_scenario(scenario: str) -> int:
    reason = "no scenario of that name (see `titrator train --list`)"
    print(error_line(PROG, "SCENARIO", reason, scenario), file=sys.stderr)
    return 2


def _file_error(error: ScenarioError | LibraryFileError) -> int:
    for line in error.lines():
        print(f"{PROG}: error: {line}", file=sys.stderr)
    return 2
