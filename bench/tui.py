"""TUI benchmark: start-up time and peak memory against a bare Textual app, and keypress latency.

Each start-up is measured in a fresh subprocess (headless, 80x24): the time from process start
to the first frame in which the app is interactive (`App.on_ready` via `run_test`), and the peak
traced memory (tracemalloc). Both are reported as medians and as ratios to a bare Textual app
measured in the same run. Keypress latency: in the vitals dialog, a digit is pressed and the time
until the inline check updates (the Input.Changed handler ran) is taken; median and p95 in ms.

Run: `.venv/bin/python bench/tui.py [--repeats N] [--keys N]`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

_CHILD = r"""
import asyncio, json, sys, time, tracemalloc
t0 = time.perf_counter()
tracemalloc.start()
kind = sys.argv[1]
sys.path.insert(0, sys.argv[2])
if kind == "bare":
    from textual.app import App
    from textual.widgets import Footer, Header, Static

    class Bare(App[None]):
        def compose(self):
            yield Header()
            yield Static("hello")
            yield Footer()

    app = Bare()
else:
    from pathlib import Path
    from tests.support.app import build_app
    app = build_app(Path(sys.argv[3])).app

async def main():
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        ready = time.perf_counter() - t0
        _, peak = tracemalloc.get_traced_memory()
        print(json.dumps({"ready_s": ready, "peak_bytes": peak}))

asyncio.run(main())
"""


def startup(kind: str, repeats: int) -> tuple[float, float]:
    """Median (seconds to interactive, peak MiB) over `repeats` fresh processes."""
    times, peaks = [], []
    for _ in range(repeats):
        with tempfile.TemporaryDirectory() as tmp:
            out = subprocess.run(
                [sys.executable, "-c", _CHILD, kind, str(ROOT), tmp],
                check=True,
                capture_output=True,
                text=True,
                timeout=120,
            ).stdout
        figures = json.loads(out.strip().splitlines()[-1])
        times.append(figures["ready_s"])
        peaks.append(figures["peak_bytes"] / 2**20)
    return statistics.median(times), statistics.median(peaks)


async def keypress_latency(count: int) -> list[float]:
    """Milliseconds from a digit key to the inline check's update, `count` times."""
    sys.path.insert(0, str(ROOT))
    from textual.widgets import Input, Static

    from tests.support.app import build_app
    from tests.tui.harness import on_screen, open_session, wait_for
    from titrator.tui.dialogs.vitals import VitalsModal

    samples: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        app = build_app(Path(tmp)).app
        async with app.run_test(size=(80, 24)) as pilot:
            await open_session(pilot)
            await pilot.press("v")
            await on_screen(pilot, VitalsModal)
            box = app.screen.query_one("#hr_bpm", Input)
            check = app.screen.query_one("#hr_bpm-check", Static)
            box.focus()
            for i in range(count):
                box.value = ""
                await pilot.pause()
                digit = "7" if i % 2 else "9"
                start = time.perf_counter()
                await pilot.press(digit)  # "7" alone is below the plausible range: "✗"
                await wait_for(pilot, lambda: str(check.content) != "", "the inline check")
                samples.append((time.perf_counter() - start) * 1000)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--keys", type=int, default=40)
    args = parser.parse_args()

    bare_s, bare_mib = startup("bare", args.repeats)
    app_s, app_mib = startup("titrator", args.repeats)
    print(f"start-up to interactive (median of {args.repeats}, headless 80x24):")
    print(f"  bare Textual app : {bare_s * 1000:7.0f} ms   peak {bare_mib:6.1f} MiB")
    print(f"  titrator         : {app_s * 1000:7.0f} ms   peak {app_mib:6.1f} MiB")
    print(f"  ratio            : {app_s / bare_s:7.2f} x    memory {app_mib / bare_mib:6.2f} x")

    samples = asyncio.run(keypress_latency(args.keys))
    samples.sort()
    p95 = samples[max(0, int(len(samples) * 0.95) - 1)]
    print(
        f"keypress -> inline vitals check ({len(samples)} keys, Pilot; includes Pilot's idle wait):"
    )
    print(f"  median {statistics.median(samples):6.1f} ms   p95 {p95:6.1f} ms")


if __name__ == "__main__":
    main()
