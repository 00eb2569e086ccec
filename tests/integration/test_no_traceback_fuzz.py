"""No traceback on any input: numbers that overflow, lose precision or are not numbers at all.

Every numeric command-line option, the site configuration file and `simulate` scripts are fed
1e308, NaN, Infinity, -0, 40-digit values and whatever hypothesis makes up. A bad value is one
line on standard error naming the option or field (exit 2; a bad configuration file, like any bad
site data file, exits 1 naming the file and field), never a traceback and never the crash exit
(70). A sample runs the installed console scripts in a subprocess; the bulk calls `main()`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from titrator.cli.main import main

BIN = Path(sys.executable).parent
NASTY = [
    "1e308",
    "-1e308",
    "1E+400",
    "1e-400",
    "NaN",
    "nan",
    "Infinity",
    "-Infinity",
    "inf",
    "-0",
    "-0.0",
    "1" * 28,
    "1234567890123456789012345678901234567890",
    "0." + "0" * 39 + "1",
    "9" * 40 + ".5",
]
"""The values the attack used, and their neighbours."""

numbers = st.one_of(
    st.sampled_from(NASTY),
    st.decimals(allow_nan=True, allow_infinity=True).map(str),
    st.floats().map(repr),
    st.integers(min_value=-(10**60), max_value=10**60).map(str),
    st.text(alphabet="0123456789.eE+-naifINFty", min_size=1, max_size=45),
)
FUZZ = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
REPORT_LINES = ("audit log: ", "head: ")
PLAN = ["--product", "privigen", "--indication", "pi", "--weight-kg", "70"]
PLAN_DOSE = [*PLAN, "--dose-g-per-kg", "0.4"]
VITALS = {
    "temp_c": "36.8",
    "hr_bpm": "80",
    "sbp_mmhg": "120",
    "dbp_mmhg": "80",
    "rr_bpm": "16",
    "spo2_pct": "98",
}


@pytest.fixture(autouse=True)
def private_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("TITRATOR_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("TITRATOR_CONFIG", raising=False)


def _check(
    code: int, err: str, *, names: str | tuple[str, ...], allowed: tuple[int, ...] = (0, 2)
) -> None:
    """No traceback, no crash; a refusal is one line naming the option or field."""
    assert "Traceback" not in err
    assert code in allowed, err
    if code != 0:
        # simulate also reports where its log went ("audit log:", "head:"): not errors
        errors = [line for line in err.splitlines() if not line.startswith(REPORT_LINES)]
        assert len(errors) == 1, err
        wanted = (names,) if isinstance(names, str) else names
        assert any(name in errors[0] for name in wanted), err


def _main(capsys: pytest.CaptureFixture[str], argv: list[str]) -> tuple[int, str]:
    code = main(argv)
    return code, capsys.readouterr().err


# The console scripts, in a subprocess: each case the issue names.


def _console(argv: list[str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "XDG_STATE_HOME": str(tmp_path / "state"),
        "TITRATOR_DATA_DIR": str(tmp_path / "data"),
    }
    env.pop("TITRATOR_CONFIG", None)
    return subprocess.run(argv, capture_output=True, text=True, env=env, timeout=60, check=False)


def _script(tmp_path: Path, t_min: str) -> Path:
    script = tmp_path / "events.jsonl"
    script.write_text(
        json.dumps({"t_min": 0, "vitals": VITALS})
        + "\n"
        + '{"t_min": '
        + t_min
        + ', "stop": "done"}\n'
    )
    return script


def test_console_simulate_with_t_min_1e308(tmp_path: Path) -> None:
    script = _script(tmp_path, "1e308")
    done = _console(
        [str(BIN / "titrator"), "simulate", *PLAN_DOSE, "--events", str(script)], tmp_path
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1
    assert "t_min" in done.stderr
    assert "Traceback" not in done.stderr


def test_console_plan_site_at_risk_cap_with_28_digits(tmp_path: Path) -> None:
    done = _console(
        [str(BIN / "titrator"), "plan", *PLAN_DOSE, "--at-risk", "--site-at-risk-cap", "1" * 28],
        tmp_path,
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1
    assert "--site-at-risk-cap" in done.stderr


@pytest.mark.parametrize(
    ("line", "field"),
    [
        ("site_at_risk_cap_mg_per_kg_min = 1E+400", "site_at_risk_cap_mg_per_kg_min"),
        (f'library_dirs = ["{"a" * 300}"]', "library_dirs"),
    ],
    ids=["cap-1E+400", "library-dir-300-chars"],
)
def test_console_config_file(tmp_path: Path, line: str, field: str) -> None:
    config = tmp_path / "site.toml"
    config.write_text(line + "\n")
    done = _console(
        [str(BIN / "titrator"), "--config", str(config), "plan", *PLAN_DOSE, "--at-risk"],
        tmp_path,
    )
    assert done.returncode == 1, done.stderr  # a bad site data file (see module docstring)
    assert done.stderr.count("\n") == 1
    assert field in done.stderr
    assert str(config) in done.stderr
    assert "Traceback" not in done.stderr


def test_console_library_option_with_a_300_char_name(tmp_path: Path) -> None:
    done = _console(
        [str(BIN / "titrator"), "plan", *PLAN_DOSE, "--library", str(tmp_path / ("a" * 300))],
        tmp_path,
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1
    assert "--library" in done.stderr


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (["--tcp", "127.0.0.1:99999"], "--tcp"),
        (["--tcp", "example.org:7777"], "--tcp"),
        (["--pty", "--speed", "0"], "--speed"),
        (["--pty", "--control", "99999"], "--control"),
        (["--pty", "--address", "100"], "--address"),
        (["--pty", "--safe", "300"], "--safe"),
        (["--pty", "--max-rate", "nan"], "--max-rate"),
        (["--pty", "--baud", "12345"], "--baud"),
    ],
)
def test_console_simulator_options(tmp_path: Path, args: list[str], option: str) -> None:
    done = _console([sys.executable, "-m", "simulator", *args], tmp_path)
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1, done.stderr
    assert option in done.stderr
    assert "Traceback" not in done.stderr


def test_console_simulator_takes_localhost(tmp_path: Path) -> None:
    """`--tcp localhost:PORT` is the loopback address by name: it starts, and says where."""
    with subprocess.Popen(
        [sys.executable, "-m", "simulator", "--tcp", "localhost:0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as proc:
        assert proc.stdout is not None
        first = proc.stdout.readline()  # waits on the condition: the first line printed
        proc.terminate()
        proc.wait(timeout=10)
    assert first.startswith("PUMP socket://127.0.0.1:")


# The bulk, in process.

PLAN_OPTIONS = ["--weight-kg", "--dose-g-per-kg", "--height-cm", "--site-at-risk-cap"]


@pytest.mark.parametrize("option", PLAN_OPTIONS)
@FUZZ
@given(text=numbers)
def test_plan_numeric_options(option: str, text: str, capsys: pytest.CaptureFixture[str]) -> None:
    base = {
        "--weight-kg": "70",
        "--dose-g-per-kg": "0.4",
        "--height-cm": "170",
        "--site-at-risk-cap": "2",
    }
    base[option] = text
    argv = ["plan", "--product", "privigen", "--indication", "pi", "--at-risk"]
    argv += [f"{name}={value}" for name, value in base.items()]
    argv += ["--adjusted-weight", "--sex", "female"]
    code, err = _main(capsys, argv)
    _check(code, err, names="--")
    if text in NASTY:
        assert code == 2


@pytest.mark.parametrize("command", ["demo", "train"])
@FUZZ
@given(text=st.sampled_from(NASTY))
def test_speed_options(command: str, text: str, capsys: pytest.CaptureFixture[str]) -> None:
    argv = [command, *(["febrile"] if command == "train" else []), f"--speed={text}"]
    code, err = _main(capsys, argv)
    assert code == 2
    _check(code, err, names="--speed")


@pytest.mark.parametrize("option", ["--weight-kg", "--dose-g-per-kg"])
@FUZZ
@given(text=numbers)
def test_simulate_numeric_options(
    option: str, text: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    script = _script(tmp_path, "0")
    values = {"--weight-kg": "70", "--dose-g-per-kg": "0.4", option: text}
    argv = ["simulate", "--product", "privigen", "--indication", "pi", "--events", str(script)]
    argv += [f"{name}={value}" for name, value in values.items()]
    argv += ["--data-dir", str(tmp_path / "logs"), "--session-id", "fuzz"]
    code, err = _main(capsys, argv)
    for log in (tmp_path / "logs").glob("*"):  # each example starts afresh
        log.unlink()
    _check(code, err, names="weight" if option == "--weight-kg" else "dose")
    if text in NASTY:
        assert code == 2


@FUZZ
@given(text=numbers)
def test_simulate_script_t_min(
    text: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    script = _script(tmp_path, text)
    argv = ["simulate", *PLAN_DOSE, "--events", str(script)]
    argv += ["--data-dir", str(tmp_path / "logs"), "--session-id", "fuzz"]
    code, err = _main(capsys, argv)
    for log in (tmp_path / "logs").glob("*"):
        log.unlink()
    _check(code, err, names="line ")
    if text in NASTY and text not in ("-0", "-0.0"):
        assert code == 2


@FUZZ
@given(text=numbers)
def test_simulate_script_vitals(
    text: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    script = tmp_path / "events.jsonl"
    vitals = json.dumps(dict(VITALS, temp_c="VALUE")).replace('"VALUE"', text)
    script.write_text('{"t_min": 0, "vitals": ' + vitals + "}\n" + '{"t_min": 1, "stop": "x"}\n')
    argv = ["simulate", *PLAN_DOSE, "--events", str(script)]
    argv += ["--data-dir", str(tmp_path / "logs"), "--session-id", "fuzz"]
    code, err = _main(capsys, argv)
    for log in (tmp_path / "logs").glob("*"):
        log.unlink()
    _check(code, err, names="line ")


CONFIG_NUMBERS = [
    "site_at_risk_cap_mg_per_kg_min",
    "site_max_rate_ml_per_h",
    "pump_resolution_ml_per_h",
]


@pytest.mark.parametrize("field", CONFIG_NUMBERS)
@FUZZ
@given(text=numbers)
def test_config_file_numbers(
    field: str, text: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "site.toml"
    config.write_text(f"{field} = {text}\n")
    code, err = _main(capsys, ["--config", str(config), "plan", *PLAN_DOSE, "--at-risk"])
    # a value that reads but allows no ramp is a plan refusal naming the limit (exit 2)
    names = (field, str(config), "site_max", "--site-at-risk-cap")
    _check(code, err, names=names, allowed=(0, 1, 2))
    if text in NASTY:
        assert code == 1


@FUZZ
@given(name=st.text(alphabet="ab/", min_size=200, max_size=5000))
def test_config_file_paths(name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "site.toml"
    config.write_text(f'library_dirs = ["{tmp_path}/{name}"]\n')
    code, err = _main(capsys, ["--config", str(config), "plan", *PLAN_DOSE])
    _check(code, err, names=(str(config), "library"), allowed=(0, 1))
