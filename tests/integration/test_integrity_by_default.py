"""Integrity by default: a site key made on first use, used by every command that reads a log.

The forger can write the data directory but not the key (kept outside it, 0600). Without a key
such a forger can edit any value and recompute the hash chain; the configured key catches every
such edit without anyone typing --key-file. A check with no key at all says "hash chain only"
and never "verified".
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support.audit import StepClock, edit_payload, rechain, sample_events
from titrator.audit import AuditWriter
from titrator.cli.main import main
from titrator.files.config import AppConfig

N_EVENTS = 12
KEYLESS_NOTE = (
    "hash chain only: not protected against rewriting; give the site key or the head hash"
)


@dataclass(frozen=True)
class Site:
    home: Path
    data_dir: Path
    key_file: Path


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Site:
    """A site whose key is named only by the user's configuration, never on the command line."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.delenv("TITRATOR_CONFIG", raising=False)
    key_file = tmp_path / "config" / "titrator" / "keys" / "site.key"
    key_file.parent.mkdir(mode=0o700, parents=True)
    assert main(["audit", "keygen", str(key_file)]) == 0
    (tmp_path / "config" / "titrator" / "config.toml").write_text(f'key_file = "{key_file}"\n')
    return Site(tmp_path, tmp_path / "data", key_file)


def _write(site: Site, session_id: str, *, close: bool = True) -> Path:
    writer = AuditWriter.create(
        session_id,
        station_id="bay-3",
        nurse_id="rn-0042",
        data_dir=site.data_dir,
        key_file=site.key_file,
        clock=StepClock(),
        min_free_bytes=0,
        sync_each_record=False,
    )
    for event in sample_events(N_EVENTS):
        writer.append(event)
    if close:
        writer.close()
    else:
        writer.release()
    return writer.path


def _edits(lines: list[bytes]) -> Iterator[list[bytes]]:
    """36 forged logs: 3 values changed in each of the 12 event records, then re-chained."""
    for index in range(1, N_EVENTS + 1):
        record: dict[str, Any] = json.loads(lines[index])
        for field, value in (("forged", 1), ("rate_ml_per_h", "999"), ("hr_bpm", 1)):
            if field in record["payload"] or field == "forged":
                changed = edit_payload(lines[index], **{field: value})
            else:
                changed = edit_payload(lines[index], note=f"{field}={value}")
            edited = [*lines[:index], changed, *lines[index + 1 :]]
            yield rechain(edited, strip_mac=True)  # the forger has no key: MACs dropped


def _keep_macs(lines: list[bytes]) -> list[bytes]:
    """A forged value with the stale MACs kept and every hash recomputed (MAC included)."""
    from titrator.audit.canonical import canonical_json, hashed_body, record_hash

    edited = [*lines[:3], edit_payload(lines[3], forged=True), *lines[4:]]
    out: list[bytes] = []
    prev = "0" * 64
    for line in edited:
        record = json.loads(line)
        record["prev_hash"] = prev
        record.pop("hash")
        record["hash"] = prev = record_hash(hashed_body(record))
        out.append(canonical_json(record) + b"\n")
    return out


def _forged_close(lines: list[bytes]) -> list[bytes]:
    """The closing record removed, a forged record and a new closing record added."""
    closing = json.loads(lines[-1])
    forged = json.loads(lines[-2])
    forged["seq"] = closing["seq"]
    forged["payload"] = {"text": "patient tolerated well", "tags": []}
    forged["kind"] = "note"
    closing["seq"] += 1
    encoded = [json.dumps(r).encode() + b"\n" for r in (forged, closing)]
    return rechain([*lines[:-1], *encoded], strip_mac=True)


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_first_use_creates_a_private_key_outside_the_data_dir_and_records_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from titrator.cli.site_key import key_for_writing
    from titrator.files.config import load_config

    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.delenv("TITRATOR_CONFIG", raising=False)
    data_dir = tmp_path / "data"
    key, created = key_for_writing(None, AppConfig(), data_dir)
    assert created
    assert key == tmp_path / "config" / "titrator" / "keys" / "site.key"
    assert not key.resolve().is_relative_to(data_dir.resolve())
    assert os.stat(key).st_mode & 0o777 == 0o600
    assert os.stat(key.parent).st_mode & 0o777 == 0o700
    assert load_config().key_file == key  # recorded in the user's config.toml
    again, created = key_for_writing(None, load_config(), data_dir)
    assert (again, created) == (key, False)


def test_a_machine_wide_key_file_wins_and_the_user_config_is_left_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from titrator.cli.site_key import key_for_writing
    from titrator.files.config import load_config

    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "user"))
    machine = tmp_path / "etc" / "titrator.toml"
    machine.parent.mkdir()
    machine.write_text(f'key_file = "{tmp_path / "etc" / "site.key"}"\n')
    monkeypatch.setenv("TITRATOR_CONFIG", str(machine))
    key, created = key_for_writing(None, load_config(), tmp_path / "data")
    assert (key, created) == (tmp_path / "etc" / "site.key", False)
    assert not (tmp_path / "user").exists()


def test_36_edits_rechained_are_all_caught_by_the_default_key(
    site: Site, capsys: pytest.CaptureFixture[str]
) -> None:
    log = _write(site, "s-0001")
    lines = log.read_bytes().splitlines(keepends=True)
    forged_logs = list(_edits(lines))
    assert len(forged_logs) == 36
    scratch = site.home / "forged.jsonl"
    caught = 0
    for forged in forged_logs:
        scratch.write_bytes(b"".join(forged))
        code, out, _ = _run(capsys, "audit", "verify", str(scratch))
        caught += code == 1 and out.startswith("DAMAGED")
    assert caught == 36


@pytest.mark.parametrize("forge", [_keep_macs, _forged_close], ids=["stale-macs", "new-close"])
def test_every_log_reading_command_uses_the_default_key(
    site: Site, capsys: pytest.CaptureFixture[str], forge: Any
) -> None:
    log = _write(site, "s-0002")
    log.write_bytes(b"".join(forge(log.read_bytes().splitlines(keepends=True))))
    code, out, _ = _run(capsys, "audit", "verify", "--json", str(log))
    assert (code, json.loads(out)[0]["outcome"]) == (1, "damaged")
    assert _run(capsys, "audit", "replay", str(log))[0] == 1
    code, _, err = _run(capsys, "export", str(log), "--format", "csv")
    assert code == 1
    assert "damaged" in err
    code, out, _ = _run(capsys, "review", "--summary", str(site.data_dir), "--json")
    assert code == 0
    assert json.loads(out)["damaged"] == [str(log)]


def test_resume_list_uses_the_default_key(site: Site, capsys: pytest.CaptureFixture[str]) -> None:
    log = _write(site, "s-0003", close=False)
    lines = log.read_bytes().splitlines(keepends=True)
    log.write_bytes(
        b"".join(rechain([*lines[:2], edit_payload(lines[2], forged=1)], strip_mac=True))
    )
    code, out, _ = _run(capsys, "resume", "--list", "--json", "--data-dir", str(site.data_dir))
    (row,) = json.loads(out)
    assert code == 1
    assert row["integrity"] == "DAMAGED"


def test_an_explicit_key_file_still_wins(site: Site, capsys: pytest.CaptureFixture[str]) -> None:
    log = _write(site, "s-0004")
    other = site.home / "other" / "site.key"
    other.parent.mkdir(mode=0o700)
    assert _run(capsys, "audit", "keygen", str(other))[0] == 0
    code, out, _ = _run(capsys, "audit", "verify", str(log), "--key-file", str(other))
    assert code == 1
    assert "wrong key" in out
    code, out, _ = _run(capsys, "audit", "verify", str(log))
    assert code == 0
    assert out.startswith("OK ")
    assert "MAC-verified" in out


def test_a_keyless_check_never_says_verified(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "nobody"))
    monkeypatch.delenv("TITRATOR_CONFIG", raising=False)
    writer = AuditWriter.create(
        "s-0005",
        station_id="bay-3",
        nurse_id="rn-0042",
        data_dir=tmp_path / "logs",
        clock=StepClock(),
        min_free_bytes=0,
        sync_each_record=False,
    )
    for event in sample_events(4):
        writer.append(event)
    head = writer.close()
    log = writer.path
    code, out, _ = _run(capsys, "audit", "verify", str(log))
    assert code == 0
    assert "verified" not in out.lower()
    assert KEYLESS_NOTE in out
    assert out.startswith("CHAIN-ONLY ")
    code, out, _ = _run(capsys, "audit", "verify", "--json", str(log))
    assert json.loads(out)[0]["outcome"] == "chain-only"
    assert "verified" not in out
    code, out, _ = _run(capsys, "export", str(log), "--format", "html")
    assert code == 0
    assert "✓ verified" not in out
    assert KEYLESS_NOTE in out
    code, out, _ = _run(capsys, "audit", "verify", str(log), "--expect-head", head.hash)
    assert code == 0
    assert out.startswith("OK ")
    assert KEYLESS_NOTE not in out
