"""The one ``titrator`` command and its subcommands; wiring happens here.

Exit codes: 0 success; 1 a data file or log failed validation; 2 bad input on the command line
(one line naming the option and the problem, never a traceback); 130 interrupted.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
from collections.abc import Callable, Sequence
from decimal import Decimal
from pathlib import Path
from typing import NoReturn

from titrator import __version__
from titrator.domain.plan import PlanError, build_plan
from titrator.domain.plan_format import DISCLAIMER, plan_json, plan_table
from titrator.domain.plan_model import PlanRequest, Sex, WeightBasis
from titrator.domain.units import InputError, parse_plain_decimal
from titrator.files.config import AppConfig, load_config
from titrator.files.library import (
    Library,
    LibraryFileError,
    load_library,
    load_product_file,
    protocols_dir,
)

EXIT_OK = 0
EXIT_INVALID = 1
EXIT_USAGE = 2

# Subcommands whose argument parsing lives in their own module: name -> "module:function".
DELEGATED: dict[str, tuple[str, str]] = {
    "simulate": ("titrator.cli.simulate:simulate_main", "run a whole session headless from events"),
    "audit": ("titrator.cli.audit:audit_main", "verify audit logs (titrator audit verify PATH)"),
    "run": ("titrator.cli.app:run_main", "the bedside app (manual pump by default)"),
    "demo": ("titrator.cli.app:demo_main", "the app on the bundled simulator, marked TRAINING"),
    "resume": ("titrator.cli.resume:resume_main", "list, show or resume unfinished sessions"),
    "train": ("titrator.cli.train:train_main", "training scenarios on the simulator"),
    "review": ("titrator.cli.review:review_main", "review audit logs (a file or a folder)"),
    "export": ("titrator.cli.review:export_main", "export a log as CSV, FHIR R4 or HTML"),
}


class UsageError(Exception):
    """Bad input on the command line: reported in one line, exit code 2."""


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line, without the usage block."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def decimal_arg(option: str) -> Callable[[str], Decimal]:
    """An argparse type that accepts only plain decimal numbers (see `parse_plain_decimal`)."""

    def parse(text: str) -> Decimal:
        try:
            return parse_plain_decimal(text, option)
        except InputError as error:
            raise argparse.ArgumentTypeError(f"{error.reason} (got {text!r})") from None

    return parse


def _add_plan_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--product", required=True, help="product id (see `protocols list`)")
    parser.add_argument("--indication", required=True, help="indication id of the product")
    parser.add_argument(
        "--weight-kg", required=True, type=decimal_arg("--weight-kg"), help="2 to 300 kg"
    )
    parser.add_argument(
        "--dose-g-per-kg",
        required=True,
        type=decimal_arg("--dose-g-per-kg"),
        help="dose for this infusion, g/kg",
    )
    parser.add_argument(
        "--first-infusion",
        action="store_true",
        help="treatment-naive, switching product, or more than 8 weeks since the last infusion",
    )
    parser.add_argument(
        "--at-risk", action="store_true", help="at risk of renal dysfunction or thrombosis"
    )
    parser.add_argument(
        "--adjusted-weight",
        action="store_true",
        help="dose on the adjusted body weight (needs --height-cm and --sex)",
    )
    parser.add_argument("--height-cm", type=decimal_arg("--height-cm"))
    parser.add_argument("--sex", choices=[s.value for s in Sex])
    parser.add_argument(
        "--site-at-risk-cap",
        type=decimal_arg("--site-at-risk-cap"),
        metavar="MG_PER_KG_MIN",
        help="at-risk cap where the label prints none (default: the site config's)",
    )


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser (delegated subcommands are listed but parsed by their module)."""
    parser = _Parser(
        prog="titrator",
        description="Plan, run and review stepwise IVIG infusions. " + DISCLAIMER,
    )
    parser.add_argument("--version", action="version", version=f"titrator {__version__}")
    parser.add_argument("--config", type=Path, help="site configuration file (TOML)")
    parser.add_argument(
        "--library",
        type=Path,
        action="append",
        default=[],
        metavar="DIR",
        help="a directory of site product files (repeatable)",
    )
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    protocols = commands.add_parser("protocols", help="the product library")
    actions = protocols.add_subparsers(dest="action", required=True, parser_class=_Parser)
    listing = actions.add_parser("list", help="list products and indications")
    listing.add_argument("--json", action="store_true")
    show = actions.add_parser("show", help="show one product file's facts")
    show.add_argument("product_id", metavar="ID")
    validate = actions.add_parser("validate", help="validate product files")
    validate.add_argument("paths", nargs="*", type=Path, metavar="PATH")

    plan = commands.add_parser("plan", help="plan a ramp for one patient")
    _add_plan_arguments(plan)
    plan.add_argument("--json", action="store_true", help="print one JSON object")

    for name, (_, summary) in DELEGATED.items():
        commands.add_parser(name, help=summary, add_help=False)
    return parser


def _library(config: AppConfig, extra: Sequence[Path]) -> Library:
    return load_library([*config.library_dirs, *extra])


def plan_request(args: argparse.Namespace, config: AppConfig) -> PlanRequest:
    """The plan request described by the plan options."""
    return PlanRequest(
        product_id=args.product,
        indication_id=args.indication,
        weight_kg=args.weight_kg,
        dose_g_per_kg=args.dose_g_per_kg,
        first_infusion=args.first_infusion,
        at_risk=args.at_risk,
        weight_basis=WeightBasis.ADJUSTED if args.adjusted_weight else WeightBasis.ACTUAL,
        height_cm=args.height_cm,
        sex=Sex(args.sex) if args.sex else None,
        site_at_risk_cap_mg_per_kg_min=args.site_at_risk_cap
        or config.site_at_risk_cap_mg_per_kg_min,
        site_max_rate_ml_per_h=config.site_max_rate_ml_per_h,
        pump_resolution_ml_per_h=config.pump_resolution_ml_per_h,
    )


_OPTION_FOR_FIELD = {
    "product_id": "--product",
    "indication_id": "--indication",
    "weight_kg": "--weight-kg",
    "dose_g_per_kg": "--dose-g-per-kg",
    "height_cm": "--height-cm",
    "sex": "--sex",
    "at_risk": "--at-risk",
    "site_at_risk": "--site-at-risk-cap",
}


def cmd_plan(args: argparse.Namespace, config: AppConfig, library: Library) -> int:
    """``titrator plan``: print the ramp for one patient."""
    try:
        product = library.product(args.product)
    except KeyError as error:
        raise UsageError(f"--product: {error.args[0]}") from None
    try:
        plan = build_plan(plan_request(args, config), product)
    except PlanError as error:
        option = _OPTION_FOR_FIELD.get(error.field, error.field)
        raise UsageError(f"{option}: {error.reason}") from None
    if args.json:
        print(json.dumps(plan_json(plan), indent=2, ensure_ascii=False))
    else:
        print(plan_table(plan, product))
    return EXIT_OK


def cmd_protocols(args: argparse.Namespace, config: AppConfig) -> int:
    """``titrator protocols list|show|validate``."""
    if args.action == "validate":
        return _validate(args.paths or None, config, args.library)
    library = _library(config, args.library)
    if args.action == "list":
        rows = [
            {
                "id": product.id,
                "name": product.name,
                "concentration_mg_per_ml": str(product.concentration_mg_per_ml),
                "version": product.version,
                "indications": list(product.indications),
            }
            for product in library.products.values()
        ]
        if args.json:
            print(json.dumps(rows, indent=2, ensure_ascii=False))
        else:
            for row in rows:
                print(f"{row['id']:<20} {row['name']:<20} {', '.join(row['indications'])}")
        return EXIT_OK
    try:
        product = library.product(args.product_id)
    except KeyError as error:
        raise UsageError(f"ID: {error.args[0]}") from None
    print(f"# {library.files[product.id]} (sha256 {library.sha256[product.id]})")
    print(json.dumps(product.model_dump(mode="json"), indent=2, ensure_ascii=False))
    return EXIT_OK


def _validate(paths: Sequence[Path] | None, config: AppConfig, extra: Sequence[Path]) -> int:
    if paths is None:
        dirs = [protocols_dir() / "products", *config.library_dirs, *extra]
        paths = [p for d in dirs for p in sorted(d.glob("*.toml"))]
    failures = 0
    for path in paths:
        try:
            product = load_product_file(path)
        except LibraryFileError as error:
            failures += 1
            for line in error.lines():
                print(line)
        else:
            print(f"{path}: ok ({product.name}, {len(product.indications)} indications)")
    return EXIT_INVALID if failures else EXIT_OK


def _delegate(name: str, argv: list[str]) -> int:
    target, _ = DELEGATED[name]
    module_name, function = target.split(":")
    module = importlib.import_module(module_name)
    entry: Callable[[list[str]], int] = getattr(module, function)
    return entry(argv)


def run(argv: Sequence[str]) -> int:
    """Parse `argv` and run the command; returns the exit code."""
    argv = list(argv)
    if argv and argv[0] in DELEGATED:  # they parse their own options, --config included
        return _delegate(argv[0], argv[1:])
    args = build_parser().parse_args(argv)
    config = load_config(args.config)
    if args.command == "protocols":
        return cmd_protocols(args, config)
    return cmd_plan(args, config, _library(config, args.library))


def main(argv: Sequence[str] | None = None) -> int:
    """Console-script entry point."""
    try:
        return run(sys.argv[1:] if argv is None else argv)
    except SystemExit as exit_:  # argparse: --help, --version, or a one-line usage error
        return exit_.code if isinstance(exit_.code, int) else EXIT_USAGE
    except UsageError as error:
        print(f"titrator: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except LibraryFileError as error:
        for line in error.lines():
            print(f"titrator: {line}", file=sys.stderr)
        return EXIT_INVALID
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (`titrator plan ... | head`): stop quietly, as other tools do.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
