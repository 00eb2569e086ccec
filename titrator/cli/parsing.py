"""The shape every `titrator` command shares: one parser class, one error form, hidden aliases.

Every command's parser is a `Parser`: options are never abbreviated (a prefix such as
``--dose-g`` is refused, never read as ``--dose-g-per-kg``), and a usage error is one line::

    titrator CMD: error: --option: reason (got 'text')

with exit code 2 and no usage block.
"""

from __future__ import annotations

import argparse
import math
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

EXIT_USAGE = 2
"""Exit code of bad input on the command line."""

_INVALID_CHOICE = re.compile(
    r"argument (?P<opt>[^:]+): invalid choice: (?P<got>'.*?') \(choose from (?P<choices>.*)\)$"
)
_INVALID_VALUE = re.compile(r"argument (?P<opt>[^:]+): invalid (?P<kind>\w+) value: (?P<got>'.*')$")
_IGNORED_VALUE = re.compile(r"argument (?P<opt>[^:]+): ignored explicit argument (?P<got>'.*')$")
_NOT_ALLOWED = re.compile(r"argument (?P<opt>[^:]+): not allowed with argument (?P<other>.+)$")
_EXPECTED = re.compile(r"argument (?P<opt>[^:]+): expected (?P<what>.+)$")
_REQUIRED = "the following arguments are required: "
_UNRECOGNIZED = "unrecognized arguments: "
_KIND = {"float": "a number", "int": "a whole number", "Path": "a path"}


def error_line(prog: str, option: str, reason: str, got: str | None = None) -> str:
    """One line in the commands' error form: ``PROG: error: OPTION: REASON (got 'TEXT')``.

    Args:
        prog: the command, e.g. ``titrator run``.
        option: the option or argument at fault, e.g. ``--data-dir``.
        reason: what is wrong, in plain words.
        got: the text as typed, when there was some.
    """
    tail = f" (got {got!r})" if got is not None else ""
    return f"{prog}: error: {option}: {reason}{tail}"


def usage_message(message: str) -> str:
    """Rewrite one of argparse's messages into ``--option: reason (got 'text')``."""
    if message.startswith(_REQUIRED):
        return f"{message[len(_REQUIRED) :]}: required, not given"
    if message.startswith(_UNRECOGNIZED):
        words = message[len(_UNRECOGNIZED) :]
        first = words.split(" ")[0]
        if first.startswith("-"):
            name = first.split("=")[0]
            return f"{name}: unknown option (options are never abbreviated) (got {words!r})"
        return f"unexpected argument (got {words!r})"
    if match := _INVALID_CHOICE.match(message):
        choices = match["choices"].replace("'", "")
        return f"{match['opt']}: must be one of {choices} (got {match['got']})"
    if match := _INVALID_VALUE.match(message):
        kind = _KIND.get(match["kind"], f"a valid {match['kind']}")
        return f"{match['opt']}: must be {kind} (got {match['got']})"
    if match := _IGNORED_VALUE.match(message):
        return f"{match['opt']}: takes no value (got {match['got']})"
    if match := _NOT_ALLOWED.match(message):
        return f"{match['opt']}: not allowed with {match['other']}"
    if match := _EXPECTED.match(message):
        return f"{match['opt']}: expected {match['what']}"
    return message.removeprefix("argument ")


class Parser(argparse.ArgumentParser):
    """An argument parser for a `titrator` command: no abbreviations, one-line errors (exit 2)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["allow_abbrev"] = False
        super().__init__(*args, **kwargs)
        self._words: list[str] = []

    def parse_known_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        """As argparse's, remembering the words (an unknown option is named before the rest)."""
        self._words = list(sys.argv[1:] if args is None else args)
        self._refuse_double_dash_values()
        return super().parse_known_args(self._words, namespace)

    def _refuse_double_dash_values(self) -> None:
        """Refuse ``--option=--`` for an option that takes one value, as ``--option --`` is.

        Python 3.11's argparse drops a value that is exactly ``--`` and hands the command an
        empty list instead of text (`titrator plan --weight-kg=--` stopped on an unexpected
        error); nothing titrator takes is ever ``--``, so it is a usage error, named.
        """
        for word in self._words:
            if word == "--":
                return  # what follows is not options
            option, equals, value = word.partition("=")
            if not equals or value != "--":
                continue
            action = self._option_string_actions.get(option)
            if action is not None and action.nargs in (None, "?"):
                self.error(f"argument {option}: expected one argument")

    def unknown_options(self) -> list[str]:
        """The words given that look like options this parser does not have."""
        known = self._option_string_actions
        return [
            word
            for word in self._words
            if word.startswith("--") and word != "--" and word.split("=")[0] not in known
        ]

    def error(self, message: str) -> NoReturn:
        """Print one line, ``PROG: error: --option: reason (got 'text')``, and exit 2."""
        self.exit(EXIT_USAGE, f"{self.prog}: error: {self.one_line(message)}\n")

    def one_line(self, message: str) -> str:
        """The one-form line for argparse's `message`; a mistyped option is named first."""
        unknown = self.unknown_options()
        if unknown and message.startswith(_REQUIRED):
            index = self._words.index(unknown[0])
            words = self._words[index : index + 2] if "=" not in unknown[0] else unknown[:1]
            message = _UNRECOGNIZED + " ".join(words)
        return usage_message(message)


def subcommands(parser: argparse.ArgumentParser, dest: str) -> argparse._SubParsersAction[Parser]:
    """Add required subcommands to `parser`; each is a `Parser` (no abbreviations either)."""
    return parser.add_subparsers(
        dest=dest, required=True, parser_class=Parser, metavar=dest.upper()
    )


MAX_SPEED = 10000.0
"""Fastest time acceleration of the simulated pump and patient (a simulator setting)."""


def speed_arg(text: str) -> float:
    """An argparse type for ``--speed``: a finite number above 0 and at most `MAX_SPEED`."""
    try:
        value = float(text) if len(text) <= 32 else math.nan
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or not 0 < value <= MAX_SPEED:
        raise argparse.ArgumentTypeError(
            f"must be a number greater than 0 and at most {MAX_SPEED:g} (got {text[:40]!r})"
        )
    return value


def checked_path(text: str) -> Path:
    """An argparse type: a path that can name a file here (no NUL, names and length in bounds)."""
    from titrator.files.config import path_problem

    problem = path_problem(text)
    if problem is not None:
        shown = text if len(text) <= 60 else text[:57] + "..."
        raise argparse.ArgumentTypeError(f"{problem} (got {shown!r})")
    return Path(text)


def add_library(parser: argparse.ArgumentParser) -> None:
    """``--library DIR`` (repeatable; hidden old spelling ``--library-dir``)."""
    parser.add_argument(
        "--library",
        type=checked_path,
        action="append",
        default=[],
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


def add_data_dir(parser: argparse.ArgumentParser, help_text: str, *aliases: str) -> None:
    """``--data-dir DIR`` (and hidden old spellings such as ``--audit-dir``)."""
    parser.add_argument("--data-dir", type=checked_path, metavar="DIR", help=help_text)
    for alias in aliases:
        parser.add_argument(
            alias, dest="data_dir", type=Path, default=argparse.SUPPRESS, help=argparse.SUPPRESS
        )


def add_json(parser: argparse.ArgumentParser, what: str) -> None:
    """``--json``: print `what` as JSON (for programs) instead of text."""
    parser.add_argument("--json", action="store_true", help=f"print {what} as JSON")


def fail(prog: str, option: str, reason: str, got: str | None = None) -> int:
    """Print one error line on standard error; return the usage exit code (2)."""
    print(error_line(prog, option, reason, got), file=sys.stderr)
    return EXIT_USAGE
