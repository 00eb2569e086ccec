"""Benchmark: CLI start-up, `titrator --help` and `titrator plan ... --json` vs `import textual`.

Each figure is a whole child process, started the way a user starts it (the installed console
script next to this interpreter, or `python -m titrator` if there is none), timed from spawn to
reap with a monotonic clock; peak RSS is the kernel's ru_maxrss for that one child (os.wait4).
Baseline (`python -c "import textual"`) and candidate run in turn, A B A B ..., and the ratio is
taken pair by pair. Goals (issue 17): --help <= 1.0x, plan <= 1.2x.

Bytecode: the machine may set PYTHONDONTWRITEBYTECODE. The bench first compiles titrator and
the site-packages (compileall, once) and removes the variable from the children's environment,
so every timed run loads cached bytecode, as an installed copy does.

Run: .venv/bin/python -m bench.cli [--rounds N]
"""

from __future__ import annotations

import argparse
import compileall
import os
import shutil
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

from bench.paired import spread

ROOT = Path(__file__).resolve().parent.parent
PLAN = ["plan", "--product", "privigen", "--indication", "pi", "--weight-kg", "70"]
PLAN += ["--dose-g-per-kg", "0.4", "--json"]


def titrator_command() -> list[str]:
    script = Path(sys.executable).with_name("titrator")
    if script.exists():
        return [str(script)]
    found = shutil.which("titrator")
    return [found] if found else [sys.executable, "-m", "titrator"]


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def one_run(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall seconds, peak RSS MiB) of one child process."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} exited {proc.returncode}")
    return elapsed, usage.ru_maxrss / 1024  # Linux: KiB


def compare(name: str, candidate: list[str], baseline: list[str], rounds: int) -> None:
    env = child_env()
    one_run(baseline, env)  # warm-up: page cache
    one_run(candidate, env)
    base_t: list[float] = []
    cand_t: list[float] = []
    base_m: list[float] = []
    cand_m: list[float] = []
    for _ in range(rounds):
        t, m = one_run(baseline, env)
        base_t.append(t)
        base_m.append(m)
        t, m = one_run(candidate, env)
        cand_t.append(t)
        cand_m.append(m)
    ratio = [c / b for b, c in zip(base_t, cand_t, strict=True)]
    print(name)
    print("  baseline  wall ms: " + " ".join(f"{v * 1e3:.0f}" for v in base_t))
    print("  candidate wall ms: " + " ".join(f"{v * 1e3:.0f}" for v in cand_t))
    print(f"  baseline  wall s min/median/max: {spread(base_t)}")
    print(f"  candidate wall s min/median/max: {spread(cand_t)}")
    print(f"  ratio candidate/baseline min/median/max: {spread(ratio)}x")
    print(f"  peak RSS MiB baseline {spread(base_m)}, candidate {spread(cand_m)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=7, help="paired rounds (at least 5)")
    args = parser.parse_args()
    for tree in (ROOT / "titrator", Path(sysconfig.get_paths()["purelib"])):
        compileall.compile_dir(tree, quiet=2, workers=1)
    baseline = [sys.executable, "-c", "import textual"]
    titrator = titrator_command()
    print(f"candidate command: {' '.join(titrator)}; baseline: python -c 'import textual'")
    compare("titrator --help (goal <= 1.0x)", [*titrator, "--help"], baseline, args.rounds)
    compare("titrator plan ... --json (goal <= 1.2x)", [*titrator, *PLAN], baseline, args.rounds)


if __name__ == "__main__":
    main()
