"""The one ``titrator`` command and its subcommands; wiring happens here.

Exit codes: 0 success; 1 a data file or log failed validation; 2 bad input on the command line
(one line, ``titrator CMD: error: --option: reason (got 'text')``, never a traceback); 70 an
unexpected error (a short message; the traceback, without local variables, in a private crash
file); 130 interrupted.
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
from typing import TYPE_CHECKING, Any

from titrator import __version__
from titrator.cli.parsing import (
    EXIT_USAGE,
    Parser,
    add_json,
    add_library,
    checked_path,
    subcommands,
    usage_message,
)
from titrator.domain.plan_words import DISCLAIMER, Sex
from titrator.domain.units import InputError, parse_plain_decimal
from titrator.files.crash import crash_message, write_crash_file

if TYPE_CHECKING:
    # The models, the library and pydantic load only for commands that plan or read protocols,
    # so `titrator --help` starts faster than `import textual` (issue 17).
    from titrator.domain.plan_model import PlanRequest
    from titrator.files.config import AppConfig
    from titrator.files.library import Library

EXIT_OK = 0
EXIT_INVALID = 1
EXIT_CRASH = 70

# Subcommands whose argument parsing lives in their own module: name -> "module:function".
DELEGATED: dict[str, tuple[str, str]] = {
    "simulate": ("titrator.cli.simulate:simulate_main", "run a whole session headless from events"),
    "audit": ("titrator.cli.audit:audit_main", "verify or replay audit logs, make a key file"),
    "run": ("titrator.cli.app:run_main", "the bedside app (manual pump by default)"),
    "demo": ("titrator.cli.app:demo_main", "the app on the bundled simulator, marked TRAINING"),
    "resume": ("titrator.cli.resume:resume_main", "list, show or resume unfinished sessions"),
    "train": ("titrator.cli.train:train_main", "training scenarios on the simulator"),
    "review": ("titrator.cli.review:review_main", "review audit logs (a file or a folder)"),
    "export": ("titrator.cli.review:export_main", "export a log as CSV, FHIR R4 or HTML"),
    "ship": ("titrator.cli.ship:ship_main", "verify logs and ship them to the ward store"),
    "send": ("titrator.cli.send:send_main", "send logs as IHE PCD-10 HL7 v2 messages over MLLP"),
    "ward": ("titrator.cli.ward:ward_main", "set up and check the ward store"),
}


PARSERS: dict[str, str] = {
    "titrator run": "titrator.cli.app:run_parser",
    "titrator demo": "titrator.cli.app:demo_parser",
    "titrator resume": "titrator.cli.resume:build_parser",
    "titrator train": "titrator.cli.train:build_parser",
    "titrator simulate": "titrator.cli.simulate:build_parser",
    "titrator audit": "titrator.cli.audit:build_parser",
    "titrator review": "titrator.cli.review:build_review_parser",
    "titrator export": "titrator.cli.review:build_export_parser",
    "titrator ship": "titrator.cli.ship:build_parser",
    "titrator send": "titrator.cli.send:build_parser",
    "titrator ward": "titrator.cli.ward:build_parser",
}
"""Builders of the delegated commands' parsers, by command (see `all_parsers`)."""

COMMON_GLOBALS = ("--config", "--library")
"""Options that may come before the command word (``titrator --config F run``)."""


class UsageError(Exception):
    """Bad input on the command line: reported in one line, exit code 2.

    Args:
        option: the option at fault.
        reason: what is wrong.
        got: the text as typed, if any.
    """

    def __init__(self, option: str, reason: str, got: str | None = None) -> None:
        tail = f" (got {got!r})" if got is not None else ""
        super().__init__(f"{option}: {reason}{tail}")


def decimal_arg(option: str) -> Callable[[str], Decimal]:
    """An argparse type that accepts only plain decimal numbers (see `parse_plain_decimal`)."""

    def parse(text: str) -> Decimal:
        try:
            return parse_plain_decimal(text, option)
        except InputError as error:
            raise argparse.ArgumentTypeError(f"{error.reason} (got {text!r})") from None

    return parse


def whole_arg(option: str) -> Callable[[str], int]:
    """An argparse type that accepts only a plain whole number (``5``, not ``5.0`` or ``05``)."""

    def parse(text: str) -> int:
        try:
            value = parse_plain_decimal(text, option)
        except InputError as error:
            raise argparse.ArgumentTypeError(f"{error.reason} (got {text!r})") from None
        if value != value.to_integral_value() or "." in text:
            raise argparse.ArgumentTypeError(f"must be a whole number (got {text!r})")
        return int(value)

    return parse


def _add_plan_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--product", required=True, help="product id (see `protocols list`)")
    parser.add_argument("--indication", required=True, help="indication id of the product")
    parser.add_argument(
        "--weight-kg", required=True, type=decimal_arg("--weight-kg"), help="2 to 300 kg"
    )
    parser.add_argument(
        "--dose-g-per-kg",
        type=decimal_arg("--dose-g-per-kg"),
        help="dose for this infusion, g/kg (or --dose-g, or a course)",
    )
    parser.add_argument(
        "--dose-g", type=decimal_arg("--dose-g"), help="dose for this infusion in grams"
    )
    parser.add_argument(
        "--round-to-vials",
        action="store_true",
        help="round the dose to the nearest total whole vials make (ties down)",
    )
    parser.add_argument(
        "--course-g-per-kg",
        type=decimal_arg("--course-g-per-kg"),
        metavar="TOTAL",
        help="a course's total dose, g/kg, split evenly over --course-days",
    )
    parser.add_argument(
        "--course-days", type=whole_arg("--course-days"), metavar="N", help="days of the course"
    )
    parser.add_argument(
        "--course-day",
        type=whole_arg("--course-day"),
        metavar="K",
        help="which day of the course this infusion is (default 1)",
    )
    parser.add_argument(
        "--outside-label-reason",
        metavar="TEXT",
        help="why a dose outside the label's usual range is given (recorded)",
    )
    parser.add_argument(
        "--age-years",
        type=whole_arg("--age-years"),
        metavar="YEARS",
        help="age in completed years, checked against the label's age limits",
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
    parser.add_argument(
        "--height-cm",
        type=decimal_arg("--height-cm"),
        help="height, cm (for --adjusted-weight)",
    )
    parser.add_argument("--sex", choices=[s.value for s in Sex], help="sex (for --adjusted-weight)")
    parser.add_argument(
        "--site-at-risk-cap",
        type=decimal_arg("--site-at-risk-cap"),
        metavar="MG_PER_KG_MIN",
        help="at-risk cap where the label prints none (default: the site config's)",
    )


def _add_site_options(parser: argparse.ArgumentParser, top: bool) -> None:
    """``--config`` and ``--library``: before the command word or after it."""
    default: Any = None if top else argparse.SUPPRESS
    parser.add_argument(
        "--config",
        type=Path,
        default=default,
        metavar="FILE",
        help="site configuration file (TOML)",
    )
    if top:
        add_library(parser)
        return
    parser.add_argument(
        "--library",
        type=checked_path,
        action="append",
        default=argparse.SUPPRESS,
        metavar="DIR",
        help="a directory of site product files, loaded with the shipped library (repeatable)",
    )
    parser.add_argument(
        "--library-dir",
        dest="library",
        type=Path,
        action="append",
        default=argparse.SUPPRESS,
        help=argparse.SUPPRESS,
    )


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser (delegated subcommands are listed but parsed by their module)."""
    parser = Parser(
        prog="titrator",
        description="Plan, run and review stepwise IVIG infusions. " + DISCLAIMER,
        epilog="`titrator COMMAND --help` shows the options of one command.",
    )
    parser.add_argument("--version", action="version", version=f"titrator {__version__}")
    _add_site_options(parser, top=True)
    commands = subcommands(parser, "command")

    protocols = commands.add_parser(
        "protocols",
        help="the product library: list, show, validate",
        description="The product library: the shipped product files and the site's.",
    )
    actions = subcommands(protocols, "action")
    listing = actions.add_parser(
        "list", help="list products and indications", description="List products and indications."
    )
    add_json(listing, "the products")
    _add_site_options(listing, top=False)
    show = actions.add_parser(
        "show",
        help="show one product file's facts",
        description="Show one product file's facts, its file and its SHA-256.",
    )
    show.add_argument("product_id", metavar="ID", help="product id (see `protocols list`)")
    add_json(show, "the file, its SHA-256 and the product as one JSON object")
    _add_site_options(show, top=False)
    validate = actions.add_parser(
        "validate",
        help="validate product files",
        description="Validate product files (default: the shipped and the site's). Exit code "
        "1 when one is invalid.",
    )
    validate.add_argument(
        "paths", nargs="*", type=Path, metavar="PATH", help="product files (.toml) to validate"
    )
    add_json(validate, "one result per file")
    _add_site_options(validate, top=False)

    plan = commands.add_parser(
        "plan",
        help="plan a ramp for one patient",
        description="Plan a ramp for one patient and print it. " + DISCLAIMER,
    )
    _add_plan_arguments(plan)
    add_json(plan, "the plan as one JSON object")
    _add_site_options(plan, top=False)

    for name, (_, summary) in DELEGATED.items():
        commands.add_parser(name, help=summary, add_help=False)
    return parser


def all_parsers() -> dict[str, argparse.ArgumentParser]:
    """Every command's parser, by its program name (for checks that walk them all)."""
    parsers: dict[str, argparse.ArgumentParser] = {"titrator": build_parser()}
    for prog, target in PARSERS.items():
        module_name, function = target.split(":")
        build: Callable[[], argparse.ArgumentParser] = getattr(
            importlib.import_module(module_name), function
        )
        parsers[prog] = build()
    return parsers


def _library(config: AppConfig, extra: Sequence[Path]) -> Library:
    from titrator.files.library import load_library

    return load_library([*config.library_dirs, *extra])


def _plan_library(args: argparse.Namespace, config: AppConfig) -> Library:
    """Only the product the plan asks for (its file and its site indication files), checked.

    Raises:
        UsageError: no product file defines it (the message lists those that exist).
    """
    from titrator.files.library import load_product

    try:
        return load_product(args.product, [*config.library_dirs, *args.library])
    except KeyError as error:
        raise UsageError("--product", error.args[0], args.product) from None


def plan_request(args: argparse.Namespace, config: AppConfig) -> PlanRequest:
    """The plan request described by the plan options.

    Raises:
        UsageError: the dose given no way, or more than one way, or a course incomplete.
    """
    from titrator.domain.plan_model import CourseRequest, PlanRequest, WeightBasis

    given = [
        option
        for option, value in (
            ("--dose-g-per-kg", args.dose_g_per_kg),
            ("--dose-g", args.dose_g),
            ("--course-g-per-kg", args.course_g_per_kg),
        )
        if value is not None
    ]
    if not given:
        raise UsageError(
            "--dose-g-per-kg", "required, not given (or --dose-g, or --course-g-per-kg)"
        )
    if len(given) > 1:
        raise UsageError(given[1], f"not with {given[0]}: give the dose one way only")
    course = None
    if args.course_g_per_kg is not None:
        if args.course_days is None:
            raise UsageError("--course-days", "required with --course-g-per-kg, not given")
        course = CourseRequest(
            total_g_per_kg=args.course_g_per_kg,
            days=args.course_days,
            day=1 if args.course_day is None else args.course_day,
        )
    else:
        for option, value in (
            ("--course-days", args.course_days),
            ("--course-day", args.course_day),
        ):
            if value is not None:
                raise UsageError(option, "only with --course-g-per-kg", _typed(args, option))
    return PlanRequest(
        product_id=args.product,
        indication_id=args.indication,
        weight_kg=args.weight_kg,
        dose_g_per_kg=args.dose_g_per_kg,
        dose_g=args.dose_g,
        course=course,
        round_to_vials=args.round_to_vials,
        outside_label_reason=args.outside_label_reason,
        age_years=args.age_years,
        site_max_dose_g_per_kg=config.site_max_dose_g_per_kg,
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
    "dose_g": "--dose-g",
    "course": "--course-g-per-kg",
    "course_total_g_per_kg": "--course-g-per-kg",
    "course_days": "--course-days",
    "course_day": "--course-day",
    "round_to_vials": "--round-to-vials",
    "outside_label_reason": "--outside-label-reason",
    "age_years": "--age-years",
    "height_cm": "--height-cm",
    "sex": "--sex",
    "at_risk": "--at-risk",
    "site_at_risk": "--site-at-risk-cap",
}


def cmd_plan(args: argparse.Namespace, config: AppConfig, library: Library) -> int:
    """``titrator plan``: print the ramp for one patient."""
    from titrator.domain.plan import PlanError, build_plan
    from titrator.domain.plan_format import plan_json, plan_table

    try:
        product = library.product(args.product)
    except KeyError as error:
        raise UsageError("--product", error.args[0], args.product) from None
    request = plan_request(args, config)
    try:
        plan = build_plan(request, product)
    except PlanError as error:
        option = _OPTION_FOR_FIELD.get(error.field, error.field)
        got = None if option == "--round-to-vials" else _typed(args, option)
        reason = error.reason.replace("(the outside-label reason)", "(--outside-label-reason)")
        raise UsageError(option, reason, got) from None
    if args.json:
        print(json.dumps(plan_json(plan), indent=2, ensure_ascii=False))
    else:
        print(plan_table(plan, product))
    return EXIT_OK


def cmd_protocols(args: argparse.Namespace, config: AppConfig) -> int:
    """``titrator protocols list|show|validate``."""
    if args.action == "validate":
        return _validate(args.paths or None, config, args.library, args.json)
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
        raise UsageError("ID", error.args[0], args.product_id) from None
    facts = product.model_dump(mode="json")
    if args.json:
        whole = {
            "file": str(library.files[product.id]),
            "sha256": library.sha256[product.id],
            "product": facts,
        }
        print(json.dumps(whole, indent=2, ensure_ascii=False))
        return EXIT_OK
    print(f"# {library.files[product.id]} (sha256 {library.sha256[product.id]})")
    print(json.dumps(facts, indent=2, ensure_ascii=False))
    return EXIT_OK


def _validate(
    paths: Sequence[Path] | None, config: AppConfig, extra: Sequence[Path], as_json: bool
) -> int:
    from titrator.files.library import (
        LibraryFileError,
        is_site_indication_file,
        load_library,
        load_product_file,
        load_site_file,
        protocols_dir,
        read_toml,
    )

    if paths is None:
        dirs = [protocols_dir() / "products", *config.library_dirs, *extra]
        paths = [p for d in dirs for p in sorted(d.glob("*.toml"))]
    failures = 0
    rows: list[dict[str, object]] = []
    base: Library | None = None  # the products as their own files define them, for site files
    for path in paths:
        try:
            if is_site_indication_file(read_toml(path)):
                if base is None:
                    base = load_library([*config.library_dirs, *extra], merge_site_files=False)
                merged = load_site_file(path, base.products)
                added = len(merged.indications) - len(base.products[merged.id].indications)
                what = f"adds {added} off-label indications to {merged.name}"
                product = merged
            else:
                product = load_product_file(path)
                what = f"{product.name}, {len(product.indications)} indications"
        except LibraryFileError as error:
            failures += 1
            rows.append({"path": str(path), "ok": False, "problems": error.lines()})
            if not as_json:
                for line in error.lines():
                    print(line)
        else:
            rows.append({"path": str(path), "ok": True, "product": product.id, "problems": []})
            if not as_json:
                print(f"{path}: ok ({what})")
    if as_json:
        print(json.dumps(rows, indent=2, ensure_ascii=False))
    return EXIT_INVALID if failures else EXIT_OK


def _typed(args: argparse.Namespace, option: str) -> str | None:
    """The text typed for `option` on the command line, if it was typed."""
    from titrator.cli.app import argv_text

    return argv_text(getattr(args, "argv", ()), option)


APP_COMMANDS = frozenset({"run", "demo", "train", "resume"})
"""The commands that open the nurse's app: the collector is paused while it starts."""


def _delegate(name: str, argv: list[str]) -> int:
    target, _ = DELEGATED[name]
    module_name, function = target.split(":")
    if name not in APP_COMMANDS:
        return _entry(module_name, function)(argv)
    from titrator.cli.collector import paused_for_start_up

    with paused_for_start_up():  # until the app opens (`titrator.cli.app.launch`)
        return _entry(module_name, function)(argv)


def _entry(module_name: str, function: str) -> Callable[[list[str]], int]:
    module = importlib.import_module(module_name)
    entry: Callable[[list[str]], int] = getattr(module, function)
    return entry


def _split_globals(argv: list[str]) -> tuple[list[str], list[str]]:
    """``--config``/``--library`` before the command word, and the rest."""
    index = 0
    found: list[str] = []
    while index < len(argv):
        word = argv[index]
        if word in COMMON_GLOBALS and index + 1 < len(argv):
            found += argv[index : index + 2]
            index += 2
        elif word.split("=")[0] in COMMON_GLOBALS and "=" in word:
            found.append(word)
            index += 1
        else:
            break
    return found, argv[index:]


def run(argv: Sequence[str]) -> int:
    """Parse `argv` and run the command; returns the exit code."""
    argv = list(argv)
    if not argv:  # bare `titrator`: what it can do, and how to ask for more
        build_parser().print_help()
        return EXIT_OK
    found, rest = _split_globals(argv)
    if rest and rest[0] in DELEGATED:  # they parse their own options, --config included
        return _delegate(rest[0], [*rest[1:], *found])
    args, extra = build_parser().parse_known_args(argv)
    if extra:  # named by the subcommand they were given to
        prog = " ".join(["titrator", args.command, getattr(args, "action", "")]).strip()
        message = usage_message("unrecognized arguments: " + " ".join(extra))
        print(f"{prog}: error: {message}", file=sys.stderr)
        return EXIT_USAGE
    args.argv = argv
    from titrator.files.config import load_config

    config = load_config(args.config)
    if args.command == "protocols":
        return cmd_protocols(args, config)
    return cmd_plan(args, config, _plan_library(args, config))


def _prog(argv: Sequence[str]) -> str:
    """``titrator CMD`` for messages (the first word that is a command)."""
    names = {"protocols", "plan", *DELEGATED}
    command = next((word for word in argv if word in names), None)
    return f"titrator {command}" if command else "titrator"


PYDANTIC_PLUGINS_SWITCH = ("PYDANTIC_DISABLE_PLUGINS", "__all__")
"""The environment variable, and its value, that turn pydantic's plugins off in this process."""


def disable_pydantic_plugins() -> None:
    """No third-party pydantic plugins in titrator's process: the one place this is decided.

    pydantic loads the ``pydantic`` entry point of every installed package and lets it hook
    every model's validation (https://docs.pydantic.dev/api/plugin/). Whatever else is installed
    on a workstation must not run inside the checks of the site configuration, the product
    library, the reaction policy and the audit records, nor see the patient data validated
    there; pydantic documents ``PYDANTIC_DISABLE_PLUGINS=__all__`` for this. It also spares the
    start-up pydantic's scan of every installed package's metadata at the first model (issue
    17: about 4 ms of CPU with this virtual environment's 84 packages).

    Set before any model is built (`main` calls it first: no model is imported before it); it
    is inherited by the processes titrator starts.
    """
    name, value = PYDANTIC_PLUGINS_SWITCH
    os.environ[name] = value


def main(argv: Sequence[str] | None = None) -> int:
    """Console-script entry point."""
    disable_pydantic_plugins()
    words = list(sys.argv[1:] if argv is None else argv)
    try:
        return run(words)
    except SystemExit as exit_:  # argparse: --help, --version, or a one-line usage error
        return exit_.code if isinstance(exit_.code, int) else EXIT_USAGE
    except UsageError as error:
        print(f"{_prog(words)}: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (`titrator plan ... | head`): stop quietly, as other tools do.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141
    except Exception as error:
        library_module = sys.modules.get("titrator.files.library")  # loaded if it can raise
        if library_module is not None and isinstance(error, library_module.LibraryFileError):
            for line in error.lines():
                print(f"{_prog(words)}: error: {line}", file=sys.stderr)
            return EXIT_INVALID
        print(crash_message(_prog(words), write_crash_file(error), error), file=sys.stderr)
        return EXIT_CRASH


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
