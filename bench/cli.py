"""Benchmark: CLI start-up, `titrator --help` and `titrator plan ... --json` vs `import textual`.

Each figure is a whole child process, started the way a user starts it (the installed console
script next to this interpreter, or `python -m titrator` if there is none), timed from spawn to
reap with a monotonic clock; peak RSS is the kernel's ru_maxrss for that one child (os.wait4).
Baseline (`python -c "import textual"`) and candidate run in turn, A B A B ..., and the ratio is
taken pair by pair. Goals (issue 17): --help <= 1.0x, plan <= 1.2x.

Bytecode: the machine may set PYTHONDONTWRITEBYTECODE. The bench first compiles titrator and
the site-packages (compileall, once) and removes the variable from the children's environment,
so every timed run loads cached bytecode, as an installed copy does.

Each pair also prints the children's CPU time (user + system, from os.wait4) and its ratio: on
the shared machine the wall time counts waiting for a core too, the CPU time far less so.

`--loaders` then pairs `plan` with the loader before issue 17 (every product file parsed and
checked) against today's (only the planned product's), both through `python -c`.

`--floor` adds the floor of any command that validates its input with pydantic: a `python -c`
that imports pydantic, defines one model and validates one value (pydantic's plugin discovery
off, as titrator runs it), against the same baseline, then `titrator plan` against that floor.
It shows how much of `plan`'s figure is pydantic itself and how much is titrator's models and
code. Then the checks floor: a `python -c` that loads and checks the site configuration and the
planned product's files exactly as `plan` does (titrator's models built, the files parsed and
checked) and does nothing else, against the baseline, and `plan` against it: what the options,
the planning and the output add over checking the files.

Run: .venv/bin/python -m bench.cli [--rounds N] [--loaders] [--floor]
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
    wall, rss, _cpu = one_run_cpu(argv, env)
    return wall, rss


def one_run_cpu(argv: list[str], env: dict[str, str]) -> tuple[float, float, float]:
    """(wall seconds, peak RSS MiB, CPU seconds user + system) of one child process.

    CPU time is what the child itself ran: on a shared machine it moves far less with other
    jobs' load than the wall time, which also counts the time the child waited for a core.
    """
    start = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} exited {proc.returncode}")
    return elapsed, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime  # Linux: KiB


def compare(name: str, candidate: list[str], baseline: list[str], rounds: int) -> None:
    env = child_env()
    one_run(baseline, env)  # warm-up: page cache
    one_run(candidate, env)
    base_t: list[float] = []
    cand_t: list[float] = []
    base_m: list[float] = []
    cand_m: list[float] = []
    base_c: list[float] = []
    cand_c: list[float] = []
    for _ in range(rounds):
        t, m, c = one_run_cpu(baseline, env)
        base_t.append(t)
        base_m.append(m)
        base_c.append(c)
        t, m, c = one_run_cpu(candidate, env)
        cand_t.append(t)
        cand_m.append(m)
        cand_c.append(c)
    ratio = [c / b for b, c in zip(base_t, cand_t, strict=True)]
    cpu_ratio = [c / b for b, c in zip(base_c, cand_c, strict=True)]
    print(name)
    print("  baseline  wall ms: " + " ".join(f"{v * 1e3:.0f}" for v in base_t))
    print("  candidate wall ms: " + " ".join(f"{v * 1e3:.0f}" for v in cand_t))
    print(f"  baseline  wall s min/median/max: {spread(base_t)}")
    print(f"  candidate wall s min/median/max: {spread(cand_t)}")
    print(f"  ratio candidate/baseline min/median/max: {spread(ratio)}x")
    print(f"  CPU (user+sys) s baseline {spread(base_c)}, candidate {spread(cand_c)}")
    print(f"  CPU ratio candidate/baseline min/median/max: {spread(cpu_ratio)}x")
    print(f"  peak RSS MiB baseline {spread(base_m)}, candidate {spread(cand_m)}")


_RUN_MAIN = "import sys; import titrator.cli.main as m; "
_OLD_LOADER = (
    "from titrator.files.library import load_library; "
    "m._plan_library = lambda a, c: load_library([*c.library_dirs, *a.library]); "
)
LOADER_BEFORE = [sys.executable, "-c", _RUN_MAIN + _OLD_LOADER + "sys.exit(m.main(sys.argv[1:]))"]
"""`titrator plan` as before issue 17's loader change: every product file parsed and checked."""
LOADER_AFTER = [sys.executable, "-c", _RUN_MAIN + "sys.exit(m.main(sys.argv[1:]))"]
"""The same entry point with today's loader (only the planned product's files)."""

PYDANTIC_FLOOR = [
    sys.executable,
    "-c",
    "import os; os.environ['PYDANTIC_DISABLE_PLUGINS'] = '__all__'\n"
    "from pydantic import BaseModel\n"
    "class A(BaseModel):\n    x: int\n"
    "A.model_validate({'x': 1})",
]
"""pydantic imported, one model built, one value validated: the least a pydantic CLI does."""

CHECKS_FLOOR = [
    sys.executable,
    "-c",
    "import os; os.environ['PYDANTIC_DISABLE_PLUGINS'] = '__all__'\n"
    "from titrator.files.config import load_config\n"
    "from titrator.files.library import load_product\n"
    "config = load_config(None)\n"
    "load_product('privigen', [*config.library_dirs])",
]
"""The site configuration and the planned product's files loaded and checked exactly as `plan`
does, and nothing else (no options parsed, no plan, no output): the floor of a plan from checked
files."""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=7, help="paired rounds (at least 5)")
    parser.add_argument(
        "--loaders",
        action="store_true",
        help="then plan with every product loaded (before) vs only the planned one (after)",
    )
    parser.add_argument(
        "--floor",
        action="store_true",
        help="then pydantic's floor (one model) vs the baseline, and plan vs that floor",
    )
    args = parser.parse_args()
    for tree in (ROOT / "titrator", Path(sysconfig.get_paths()["purelib"])):
        compileall.compile_dir(tree, quiet=2, workers=1)
    baseline = [sys.executable, "-c", "import textual"]
    titrator = titrator_command()
    print(f"candidate command: {' '.join(titrator)}; baseline: python -c 'import textual'")
    compare("titrator --help (goal <= 1.0x)", [*titrator, "--help"], baseline, args.rounds)
    compare("titrator plan ... --json (goal <= 1.2x)", [*titrator, *PLAN], baseline, args.rounds)
    if args.floor:
        compare(
            "pydantic floor: one model validated (python -c)", PYDANTIC_FLOOR, baseline, args.rounds
        )
        compare(
            "titrator plan ... --json vs the pydantic floor",
            [*titrator, *PLAN],
            PYDANTIC_FLOOR,
            args.rounds,
        )
        compare(
            "checks floor: config and product file checked as plan does (python -c)",
            CHECKS_FLOOR,
            baseline,
            args.rounds,
        )
        compare(
            "titrator plan ... --json vs the checks floor",
            [*titrator, *PLAN],
            CHECKS_FLOOR,
            args.rounds,
        )
    if args.loaders:
        compare(
            "plan loading only its product (candidate) vs every product (baseline), python -c",
            [*LOADER_AFTER, *PLAN],
            [*LOADER_BEFORE, *PLAN],
            args.rounds,
        )


if __name__ == "__main__":
    main()
