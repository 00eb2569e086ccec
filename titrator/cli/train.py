"""`titrator train [SCENARIO]`: list the training scenarios, or run one.

    titrator train                       # list: id, title, what it teaches
    titrator train --list
    titrator train SCENARIO --headless perfect|careless [--html FILE] [--data-dir DIR]
    titrator train SCENARIO [--speed N]  # in the app (wired by the app: see app_hooks.md)

A headless run plays the scenario with a scripted trainee against the real engine, audit log
and pump protocol (the simulator on loopback TCP), prints the debrief and can write it as
HTML. Exit codes: 0 done, 2 bad arguments or an unusable scenario, policy or product file.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from simulator.scenario import SCENARIO_DIR, ScenarioError
from titrator.files.library import LibraryFileError, load_library
from titrator.files.policy import PolicyFileError, load_policy
from titrator.training.report import render_text, write_html
from titrator.training.runner import TODAY, HeadlessRun
from titrator.training.scenarios import list_scenarios, load_training_scenario
from titrator.training.trainees import TRAINEES


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="titrator train", description=__doc__.split("\n")[0])
    parser.add_argument("scenario", nargs="?", help="scenario id (or a .toml path)")
    parser.add_argument("--list", action="store_true", help="list the scenarios")
    parser.add_argument("--speed", type=float, default=30.0, help="app: N times real time")
    parser.add_argument("--headless", choices=sorted(TRAINEES), help="run with a scripted trainee")
    parser.add_argument("--html", type=Path, help="also write the debrief as an HTML page")
    parser.add_argument("--data-dir", type=Path, help="where the training audit log goes")
    parser.add_argument("--transport", choices=("tcp", "pty"), default="tcp", help="pump line")
    parser.add_argument("--policy", type=Path, help="reaction policy file (default: shipped)")
    parser.add_argument("--library-dir", type=Path, action="append", default=[], metavar="DIR")
    parser.add_argument("--scenario-dir", type=Path, default=SCENARIO_DIR, help=argparse.SUPPRESS)
    return parser


def _list(directory: Path) -> int:
    try:
        scenarios = list_scenarios(directory)
    except ScenarioError as error:
        for line in error.lines():
            print(f"titrator train: {line}", file=sys.stderr)
        return 2
    width = max((len(s.id) for s in scenarios), default=0)
    for scenario in scenarios:
        print(f"{scenario.id:<{width}}  {scenario.title}")
        print(f"{'':<{width}}  teaches: {scenario.teaches}")
    return 0


def train_main(argv: Sequence[str] | None = None) -> int:
    """Entry point of `titrator train`. Returns the exit code."""
    args = _parser().parse_args(list(argv) if argv is not None else None)
    if args.list or args.scenario is None:
        return _list(args.scenario_dir)
    if not args.speed > 0:
        print("titrator train: error: --speed: must be greater than 0", file=sys.stderr)
        return 2
    try:
        library = load_library(args.library_dir)
        loaded = load_policy(args.policy)
        training = load_training_scenario(
            args.scenario, library, loaded.policy, TODAY, args.scenario_dir
        )
    except KeyError:
        print(f"titrator train: no scenario {args.scenario!r} (try --list)", file=sys.stderr)
        return 2
    except (ScenarioError, LibraryFileError, PolicyFileError) as error:
        for line in error.lines():
            print(f"titrator train: {line}", file=sys.stderr)
        return 2
    if args.headless is None:
        from titrator.cli.app import train_app  # the app only when it is wanted

        return train_app(training, library, loaded, speed=args.speed, data_dir=args.data_dir)
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
