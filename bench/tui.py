"""TUI benchmark: the real app start in a pseudo-terminal against a bare Textual app.

What is measured (issue 17), every figure from whole child processes started the way a user
starts them, each on its own pseudo-terminal of 80x24 columns and rows:

- **Start-up**: spawn to the first interactive frame. The parent reads the terminal's output as
  it comes and stops the clock at the read that completes the frame: for titrator, the setup
  screen's form (``Nurse ID``) and its footer key (``Next: checklist``), which Textual draws
  once the screen is mounted, focused and its bindings known; for the bare app (a Static and a
  Footer with one binding), its text and its footer key. Candidates: ``titrator run`` (manual
  pump, the bedside default) and ``titrator demo`` (the bundled simulator), through the
  installed console script, with a temporary HOME, XDG directories and ``TITRATOR_DATA_DIR``.
- **A second baseline**, ``bare Textual form``: the same bare app with a form of the setup
  screen's shape (a Header, 15 compact Inputs and 7 compact Selects with labels in a scrolling
  container, a SelectionList, a Footer) and none of titrator's code: how much of the gap is the
  size of the first screen in Textual rather than the project's code.
- **The checks floor**, ``bare app after titrator's file checks``: the bare app started after
  loading and checking the site configuration, the product library and the reaction policy as
  `titrator run` does before its first frame. No first screen drawn from checked files can
  start faster than this with the required stack.
- **Memory**: the child's peak RSS at that moment (``VmHWM`` in ``/proc/PID/status``), then the
  child is ended (SIGTERM; ``os.wait4`` reaps it). No tracemalloc anywhere.
- **Keypress latency**: both apps running side by side (the bare one with a focused Input and a
  Footer), one key written to each pty in turn; the time until the Input's new value appears in
  the output (echo), and until the output has been quiet for 100 ms (settled: every update the
  key caused, such as the setup screen's derived status), no Pilot and no idle wait.

Baseline and candidates run in turn, A B A B ..., in the same run; each round's ratio is
candidate/baseline and the figures are min / median / max over the rounds (`bench.paired`).

Bytecode: the machine may set PYTHONDONTWRITEBYTECODE. The bench compiles titrator, the
simulator and the venv's site-packages first (compileall, once), removes the variable from the
children's environment, and starts one untimed warm-up of each app, so every timed run loads
cached bytecode, as an installed copy does.

Run: .venv/bin/python -m bench.tui [--rounds N] [--keys N] [--no-demo] [--also-tree DIR]

`--also-tree DIR` adds `titrator run` from another copy of the project (the same console script
with PYTHONPATH=DIR), in the same rounds: a before/after pair measured against one baseline.
"""

from __future__ import annotations

import argparse
import compileall
import fcntl
import os
import pty
import select
import signal
import struct
import sys
import sysconfig
import tempfile
import termios
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.cli import titrator_command  # noqa: E402
from bench.paired import report  # noqa: E402

ROWS, COLS = 24, 80

BARE_APP = """
import os
import sys

if sys.argv[1:] == ["checked"]:  # titrator's checks of its files, as `titrator run` makes them
    os.environ["PYDANTIC_DISABLE_PLUGINS"] = "__all__"
    from titrator.files.config import load_config
    from titrator.files.library import load_library
    from titrator.files.policy import load_policy

    config = load_config(None)
    load_library([*config.library_dirs])
    load_policy(config.policy_file)

from textual.app import App
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Footer, Header, Input, Label, Select, SelectionList, Static


class Bare(App[None]):
    BINDINGS = [("f2", "bell", "Next: bare")]
    CSS = ".row { height: 1; } .row Label { width: 16; } .row Select { width: 32; }"

    def compose(self):
        if sys.argv[1:] == ["input"]:
            yield Input(compact=True)
        elif sys.argv[1:] == ["form"]:  # the setup form's shape, without any of its code
            yield Header()
            with VerticalScroll():
                for i in range(15):
                    yield Horizontal(Label(f"Field {i}"), Input(compact=True), classes="row")
                for i in range(7):
                    choice = Select([("one", "1"), ("two", "2")], compact=True)
                    yield Horizontal(Label(f"Choice {i}"), choice, classes="row")
                yield SelectionList(*[(f"risk {i}", i) for i in range(4)])
            yield Static("hello from a bare app")
        else:
            yield Static("hello from a bare app")
        yield Footer()


Bare().run()
"""

BARE_READY = (b"hello from a bare app", b"Next: bare")
TITRATOR_READY = (b"Nurse ID", b"Next: checklist")


def compile_bytecode(also: Path | None) -> None:
    trees = [ROOT / "titrator", ROOT / "simulator", Path(sysconfig.get_paths()["purelib"])]
    if also is not None:
        trees += [also / "titrator", also / "simulator"]
    for tree in trees:
        if tree.exists():
            compileall.compile_dir(tree, quiet=2, workers=1)


def child_env(home: Path) -> dict[str, str]:
    """The environment of every child: bytecode on, a private HOME, data and config dirs."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("XDG_", "TEXTUAL", "TITRATOR_")) and k not in ("COLUMNS", "LINES")
    }
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.update(
        HOME=str(home),
        TERM="xterm-256color",
        XDG_CONFIG_HOME=str(home / "config"),
        XDG_STATE_HOME=str(home / "state"),
        XDG_DATA_HOME=str(home / "data"),
        TITRATOR_DATA_DIR=str(home / "sessions"),
    )
    return env


@dataclass
class PtyChild:
    """One child process on its own pseudo-terminal (80x24); the parent holds the master end."""

    argv: list[str]
    env: dict[str, str]
    pid: int = 0
    fd: int = -1
    start: float = 0.0
    seen: bytearray = field(default_factory=bytearray)

    def spawn(self) -> None:
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLS, 0, 0))
        self.start = time.perf_counter()
        pid = os.fork()
        if pid == 0:  # the child: a new session with the pty as its controlling terminal
            try:
                os.setsid()
                fcntl.ioctl(slave, termios.TIOCSCTTY, 0)
                for fd in (0, 1, 2):
                    os.dup2(slave, fd)
                os.close(master)
                os.close(slave)
                os.execve(self.argv[0], self.argv, self.env)
            finally:
                os._exit(127)
        os.close(slave)
        self.pid, self.fd = pid, master

    def read(self, timeout: float) -> bytes:
        """What the terminal has written within `timeout` seconds (b"" if nothing)."""
        ready, _, _ = select.select([self.fd], [], [], timeout)
        if not ready:
            return b""
        try:
            data = os.read(self.fd, 1 << 16)
        except OSError as error:  # EIO: the child closed the terminal
            raise SystemExit(f"{self.argv} ended before its first frame") from error
        self.seen += data
        return data

    def wait_for(self, done: Callable[[bytes], bool], timeout: float = 60.0) -> float:
        """perf_counter() of the read after which `done(output so far)` holds."""
        deadline = time.perf_counter() + timeout
        while not done(bytes(self.seen)):
            if time.perf_counter() > deadline:
                tail = bytes(self.seen[-400:])
                raise SystemExit(f"{self.argv}: timed out; last output {tail!r}")
            self.read(0.5)
        return time.perf_counter()

    def quiet(self, gap: float) -> float:
        """perf_counter() of the last output before `gap` seconds without any."""
        last = time.perf_counter()
        while self.read(gap):
            last = time.perf_counter()
        return last

    def peak_rss_mib(self) -> float:
        status = Path(f"/proc/{self.pid}/status").read_text()
        line = next(x for x in status.splitlines() if x.startswith("VmHWM:"))
        return int(line.split()[1]) / 1024

    def end(self) -> None:
        os.kill(self.pid, signal.SIGTERM)
        os.wait4(self.pid, 0)
        os.close(self.fd)


def showing(markers: tuple[bytes, ...]) -> Callable[[bytes], bool]:
    """Whether the output so far holds every one of `markers`."""

    def done(out: bytes) -> bool:
        return all(m in out for m in markers)

    return done


def start_once(
    argv: list[str], env: dict[str, str], markers: tuple[bytes, ...]
) -> tuple[float, float]:
    """(seconds from spawn to the first interactive frame, peak RSS MiB then) of one child."""
    child = PtyChild(argv, env)
    child.spawn()
    ready = child.wait_for(showing(markers))
    elapsed = ready - child.start
    rss = child.peak_rss_mib()
    child.end()
    return elapsed, rss


Candidates = dict[str, tuple[list[str], dict[str, str], tuple[bytes, ...]]]
"""name -> (argv, environment, first-frame markers) of each candidate."""

BARE_FORM = "bare Textual form"
"""The bare app with a form of the setup screen's shape (15 inputs, 7 selects, a tick list)."""
CHECKED = "bare app after titrator's file checks"
"""The bare app after loading and checking the site configuration, the product library and the
reaction policy exactly as `titrator run` does before its first frame (pydantic, titrator's
models, the files): the floor of any first screen that is built from checked files."""


def startup(rounds: int, env: dict[str, str], bare: list[str], candidates: Candidates) -> None:
    start_once(bare, env, BARE_READY)  # warm-up: page cache, and the site key made once
    for argv, cand_env, markers in candidates.values():
        start_once(argv, cand_env, markers)
    base_t: list[float] = []
    base_m: list[float] = []
    cand_t: dict[str, list[float]] = {name: [] for name in candidates}
    cand_m: dict[str, list[float]] = {name: [] for name in candidates}
    for _ in range(rounds):
        t, m = start_once(bare, env, BARE_READY)
        base_t.append(t)
        base_m.append(m)
        for name, (argv, cand_env, markers) in candidates.items():
            t, m = start_once(argv, cand_env, markers)
            cand_t[name].append(t)
            cand_m[name].append(m)
    for name in candidates:
        ms_b = [v * 1e3 for v in base_t]
        ms_c = [v * 1e3 for v in cand_t[name]]
        ratio = [c / b for b, c in zip(ms_b, ms_c, strict=True)]
        report(f"start to first interactive frame: {name} (goal <= 1.3x)", "ms", ms_b, ms_c, ratio)
        mem_ratio = [c / b for b, c in zip(base_m, cand_m[name], strict=True)]
        report(
            f"peak RSS at that frame: {name} (goal <= 1.5x)", "MiB", base_m, cand_m[name], mem_ratio
        )
    pairs = [(name, BARE_FORM) for name in candidates if name.startswith("titrator")]
    pairs += [
        (name, CHECKED) for name in candidates if name == "titrator run" and CHECKED in cand_t
    ]
    pairs += [("titrator run", name) for name in candidates if name.startswith("titrator run from")]
    for one, other in pairs:  # one candidate against another, round by round
        this, that = [v * 1e3 for v in cand_t[one]], [v * 1e3 for v in cand_t[other]]
        ratio = [a / b for b, a in zip(that, this, strict=True)]
        report(f"start: {one} (candidate) / {other} (baseline)", "ms", that, this, ratio)
        ratio = [a / b for b, a in zip(cand_m[other], cand_m[one], strict=True)]
        report(f"peak RSS: {one} / {other}", "MiB", cand_m[other], cand_m[one], ratio)


def press(child: PtyChild, key: bytes, value: bytes) -> tuple[float, float]:
    """(echo ms, settled ms) for one key: until `value` is drawn, until 100 ms of quiet."""
    child.quiet(0.0)  # drain anything pending (a cursor blink)
    sent = time.perf_counter()
    os.write(child.fd, key)
    segment = b"m" + value + b"\x1b[0m"
    start = len(child.seen)
    echo = child.wait_for(lambda out: segment in out[start:], timeout=10)
    settled = child.quiet(0.1)
    return (echo - sent) * 1e3, (settled - sent) * 1e3


def keypresses(count: int, env: dict[str, str], bare: list[str], titrator: list[str]) -> None:
    """Keys typed into the bare app's Input and the setup screen's Nurse ID, in turn."""
    children = [PtyChild(bare, env), PtyChild(titrator, env)]
    for child, markers in zip(children, (BARE_READY[1:], TITRATOR_READY), strict=True):
        child.spawn()
        child.wait_for(showing(markers))
        child.quiet(0.3)
    echo: list[list[float]] = [[], []]
    settled: list[list[float]] = [[], []]
    typed = b""
    alphabet = b"abcdefghjkmnpqrstuvwxyz23456789"
    try:
        for i in range(count):
            if len(typed) == 12:  # clear the field (untimed) before it would scroll
                for child in children:
                    os.write(child.fd, b"\x7f" * len(typed))
                    child.quiet(0.2)
                typed = b""
            key = alphabet[i % len(alphabet) : i % len(alphabet) + 1]
            typed += key
            for n, child in enumerate(children):
                e, s = press(child, key, typed)
                echo[n].append(e)
                settled[n].append(s)
    finally:
        for child in children:
            child.end()
    ratio = [c / b for b, c in zip(echo[0], echo[1], strict=True)]
    report(
        f"keypress to echo in a focused Input ({count} keys, pty)", "ms", echo[0], echo[1], ratio
    )
    ratio = [c / b for b, c in zip(settled[0], settled[1], strict=True)]
    report(
        "keypress until the output is quiet for 100 ms (settled, gap not counted)",
        "ms",
        settled[0],
        settled[1],
        ratio,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=7, help="paired rounds (at least 5)")
    parser.add_argument("--keys", type=int, default=40, help="keys typed into each app")
    parser.add_argument("--no-demo", action="store_true", help="measure `titrator run` only")
    parser.add_argument(
        "--also-tree",
        type=Path,
        metavar="DIR",
        help="also start `titrator run` from the copy of the project in DIR (PYTHONPATH=DIR), "
        "in the same rounds: before and after a change, paired with the same baseline",
    )
    args = parser.parse_args()
    compile_bytecode(args.also_tree)
    titrator = titrator_command()
    with tempfile.TemporaryDirectory(prefix="bench-tui-") as tmp:
        home = Path(tmp)
        bare_file = home / "bare_app.py"
        bare_file.write_text(BARE_APP)
        env = child_env(home)
        bare = [sys.executable, str(bare_file)]
        run = [*titrator, "run"]
        candidates: Candidates = {"titrator run": (run, env, TITRATOR_READY)}
        if args.also_tree is not None:
            other = dict(env, PYTHONPATH=str(args.also_tree.resolve()))
            candidates[f"titrator run from {args.also_tree}"] = (run, other, TITRATOR_READY)
        if not args.no_demo:
            candidates["titrator demo"] = ([*titrator, "demo"], env, TITRATOR_READY)
        candidates[BARE_FORM] = ([*bare, "form"], env, BARE_READY)
        candidates[CHECKED] = ([*bare, "checked"], dict(env, PYTHONPATH=str(ROOT)), BARE_READY)
        print(f"pty {COLS}x{ROWS}; candidate: {' '.join(titrator)} run|demo; baseline: {bare[0]}")
        print("  bare_app.py (Static + Footer); bytecode compiled first, PYTHONDONTWRITEBYTECODE")
        print(f"  unset in the children (it was {os.environ.get('PYTHONDONTWRITEBYTECODE')!r})")
        startup(args.rounds, env, bare, candidates)
        keypresses(args.keys, env, [*bare, "input"], [*titrator, "run"])


if __name__ == "__main__":
    main()
