"""The log format is open: a verifier in another language, sharing no code, agrees with titrator.

`tools/verify-log.mjs` (Node, standard library only) re-derives every record's RFC 8785 form,
hash and MAC from the documented format. It must accept every corpus log with the head the
corpus manifest records, accept a keyed log with the key, and refuse the same damage titrator's
own verifier refuses, at the same line.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support.audit import make_key
from titrator.audit import AuditWriter, verify_log
from titrator.shell.clocks import ManualClock

ROOT = Path(__file__).resolve().parents[2]
VERIFIER = ROOT / "tools" / "verify-log.mjs"
CORPUS = ROOT / "tests" / "data" / "audit"
NODE = shutil.which("node")

if NODE is None:
    if os.environ.get("CI"):
        raise RuntimeError("Node.js is required in CI (.ci/run installs it)")
    pytest.skip("no node on PATH", allow_module_level=True)


def _node(log: Path, *args: str) -> tuple[int, str]:
    assert NODE is not None
    done = subprocess.run(
        [NODE, str(VERIFIER), str(log), *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.stderr == ""
    return done.returncode, done.stdout.strip()


MANIFEST = json.loads((CORPUS / "MANIFEST.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", sorted(MANIFEST))
def test_every_corpus_log_verifies_with_its_recorded_head(name: str) -> None:
    head = MANIFEST[name]["head"]
    code, out = _node(CORPUS / name, "--expect-head", head)
    assert code == 0, out
    assert out.startswith("OK ")
    assert f"head {head}" in out
    assert "(anchored)" in out
    lines = (CORPUS / name).read_bytes().count(b"\n")
    assert f"OK {lines} records" in out


def _keyed_log(tmp_path: Path, close: bool = True) -> tuple[Path, Path, str]:
    key_file, _ = make_key(tmp_path / "keys")
    writer = AuditWriter.create(
        "s-node",
        station_id="bay-2",
        nurse_id="rn-ünï",
        data_dir=tmp_path / "logs",
        key_file=key_file,
        clock=ManualClock(),
        min_free_bytes=0,
        sync_each_record=False,
    )
    writer.append({"kind": "rate_changed", "to_ml_per_h": "42.0", "note": "a\u2028b \U0001f489"})
    last = writer.append({"kind": "vitals_entered", "raw": {"temp": "38,1", "hr": 104}})
    if close:
        last = writer.close()
    else:
        writer.release()
    return writer.path, key_file, last.hash


def test_a_keyed_log_verifies_with_the_key_and_not_with_another(tmp_path: Path) -> None:
    log, key_file, head = _keyed_log(tmp_path)
    code, out = _node(log, "--key-file", str(key_file))
    assert (code, out) == (0, f"OK 4 records, head {head} (MAC-verified)")
    other, _ = make_key(tmp_path / "other")
    code, out = _node(log, "--key-file", str(other))
    assert code == 1
    assert out.startswith("DAMAGED line 1: log signed with key")


def test_an_unfinished_log_is_intact_but_not_closed(tmp_path: Path) -> None:
    log, key_file, _ = _keyed_log(tmp_path, close=False)
    code, out = _node(log, "--key-file", str(key_file))
    assert code == 3
    assert out.startswith("UNFINISHED 3 records")


def _damage(log: Path, line: int, old: bytes, new: bytes) -> None:
    lines = log.read_bytes().splitlines(keepends=True)
    assert old in lines[line - 1]
    lines[line - 1] = lines[line - 1].replace(old, new, 1)
    log.write_bytes(b"".join(lines))


@pytest.mark.parametrize(
    ("line", "old", "new", "why"),
    [
        (2, b'"42.0"', b'"24.0"', "MAC does not match"),
        (3, b'"hr":104', b'"hr": 104', "not in RFC 8785 canonical form"),
        (3, b'"seq":2', b'"seq":3', "seq 3 where 2 was expected"),
    ],
)
def test_damage_is_found_at_the_same_line_as_titrator_finds_it(
    tmp_path: Path, line: int, old: bytes, new: bytes, why: str
) -> None:
    log, key_file, _ = _keyed_log(tmp_path)
    _damage(log, line, old, new)
    code, out = _node(log, "--key-file", str(key_file))
    assert code == 1
    assert out.startswith(f"DAMAGED line {line}: {why}")
    ours = verify_log(log, key=(key_file.read_bytes()))
    assert ours.outcome.label == "damaged"
    assert ours.line == line


def test_a_wrong_anchor_is_damage(tmp_path: Path) -> None:
    log, _, head = _keyed_log(tmp_path)
    code, out = _node(log, "--expect-head", "0" * 16)
    assert code == 1
    assert f"head {head} is not the expected" in out
