"""`titrator audit verify|keygen` exit codes and output."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.support.audit import write_log
from titrator.cli.audit import audit_main


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[str], str]:
    code = audit_main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out.splitlines(), captured.err


def test_an_intact_closed_log_exits_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log = write_log(tmp_path, keyed=True)
    assert log.key_file is not None
    code, out, _ = run(
        capsys,
        "verify",
        str(log.path),
        "--key-file",
        str(log.key_file),
        "--expect-head",
        log.head.hash,
    )
    assert code == 0
    assert out[0].startswith(f"OK {log.path}:")
    assert "MAC-verified" in out[0]


def test_a_damaged_log_exits_1_naming_line_and_seq(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = write_log(tmp_path, keyed=False)
    log.path.write_bytes(log.data.replace(b'"hr_bpm":73', b'"hr_bpm":74'))
    code, out, _ = run(capsys, "verify", str(log.path))
    assert code == 1
    assert out == [out[0]]
    assert out[0].startswith("DAMAGED")
    assert "line 5 (seq 4)" in out[0]
    assert "altered" in out[0]


def test_unfinished_and_torn_logs_have_their_own_exit_codes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = write_log(tmp_path, keyed=False, close=False)
    assert run(capsys, "verify", str(log.path))[0] == 3
    log.path.write_bytes(log.data[:-5])
    code, out, _ = run(capsys, "verify", str(log.path))
    assert code == 4
    assert "TORN-TAIL" in out[0]


def test_several_logs_print_one_line_each_and_exit_with_the_worst(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = write_log(tmp_path / "a", keyed=False)
    open_ = write_log(tmp_path / "b", keyed=False, close=False)
    bad = write_log(tmp_path / "c", keyed=False)
    bad.path.write_bytes(bad.lines[0] + bad.lines[2])
    code, out, _ = run(capsys, "verify", str(good.path), str(open_.path))
    assert (code, len(out)) == (3, 2)
    code, out, _ = run(capsys, "verify", str(good.path), str(bad.path), str(open_.path))
    assert (code, len(out)) == (1, 3)
    code, out, _ = run(capsys, "verify", str(good.path), str(tmp_path / "missing.jsonl"))
    assert code == 2
    assert out[1].startswith("ERROR")


def test_an_anchor_mismatch_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log = write_log(tmp_path, keyed=False)
    log.path.write_bytes(b"".join(log.lines[:-1]))
    code, out, _ = run(capsys, "verify", str(log.path), "--expect-head", log.head.hash[:16])
    assert code == 1
    assert "expected head" in out[0]


def test_usage_errors_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log = write_log(tmp_path, keyed=False)
    assert run(capsys, "verify", str(log.path), "--expect-head", "xyz")[0] == 2
    code, _, err = run(capsys, "verify", str(log.path), str(log.path), "--expect-head", "0" * 64)
    assert code == 2
    assert "exactly one" in err
    assert run(capsys, "verify")[0] == 2
    assert run(capsys, "frobnicate")[0] == 2
    assert run(capsys, "verify", "--help")[0] == 0


def test_an_unsafe_key_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log = write_log(tmp_path, keyed=True)
    assert log.key_file is not None
    os.chmod(log.key_file, 0o644)
    code, _, err = run(capsys, "verify", str(log.path), "--key-file", str(log.key_file))
    assert code == 2
    assert "0600" in err


def test_keygen_creates_a_private_key_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key = tmp_path / "site.key"
    code, out, _ = run(capsys, "keygen", str(key))
    assert code == 0
    assert "key id" in out[0]
    assert os.stat(key).st_mode & 0o777 == 0o600
    assert len(key.read_bytes()) == 32
    assert run(capsys, "keygen", str(key))[0] == 2
