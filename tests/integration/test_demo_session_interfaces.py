"""Issue 16, done when: one closed demo session through all three hospital interfaces.

The session is recorded through the real controller and audit writer with the site key
(`training=True`: a demo log; fever: start, rate changes, a pause, the resume, completion, with
an order number). Then, on that one log:

1. FHIR: `titrator export --format fhir` writes a transaction Bundle that validates as R4
   (fhirclient, strict) and R4B (fhir.resources), and posting it twice to a store that applies
   the conditional creates creates nothing the second time;
2. HL7 v2: `titrator send --mllp` delivers every IHE PCD-10 message to an independent hl7apy
   MLLP listener, which validates each strictly and acknowledges it (AA);
3. the log format: the Node verifier (no titrator code) finds the log intact and closed, with
   the key and with the head titrator's writer returned.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from fhir.resources.R4B.bundle import Bundle as BundleR4B
from fhirclient.models.bundle import Bundle as BundleR4

from tests.integration.test_hl7v2_send import Received, listener  # noqa: F401 (a fixture)
from tests.support.audit import make_key
from tests.unit.interop.test_fhir_transaction import ConditionalStore
from tests.unit.review.logbuild import LogSpec, build_log
from titrator.audit import verify_log
from titrator.cli.main import main
from titrator.cli.send import send_main
from titrator.interop.hl7v2.feed import Endpoint
from titrator.interop.hl7v2.pcd10 import to_hl7v2_messages
from titrator.review.model import load_review

ROOT = Path(__file__).resolve().parents[2]
NODE = shutil.which("node")


@pytest.fixture
def demo(tmp_path: Path) -> tuple[Path, Path]:
    """A closed, keyed demo log with an order number, and its key file."""
    key_file, _ = make_key(tmp_path / "keys")
    spec = LogSpec(session_id="s-demo", script="fever", training=True, order_id="ORD-4471")
    return build_log(tmp_path / "logs", spec, key_file=key_file), key_file


def test_a_closed_demo_session_goes_through_every_interface(
    demo: tuple[Path, Path],
    listener: tuple[Endpoint, Received],  # noqa: F811 (the imported fixture)
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    log, key_file = demo
    key = key_file.read_bytes()
    verified = verify_log(log, key=key)
    assert verified.ok, verified.summary()
    assert verified.head is not None

    # 1. FHIR transaction, through the console command
    out = tmp_path / "bundle.json"
    code = main(
        ["export", str(log), "--format", "fhir", "--out", str(out), "--key-file", str(key_file)]
    )
    assert code == 0, capsys.readouterr()
    bundle = json.loads(out.read_text(encoding="utf-8"))
    assert bundle["type"] == "transaction"
    assert len(BundleR4(json.loads(json.dumps(bundle)), strict=True).entry) == len(bundle["entry"])
    BundleR4B.model_validate(bundle)
    store = ConditionalStore()
    assert store.post(bundle) == len(bundle["entry"])
    assert store.post(bundle) == 0  # posted twice: nothing new

    # 2. IHE PCD-10 over MLLP, acknowledged by an independent listener
    endpoint, received = listener
    outbox = tmp_path / "outbox.json"
    code = send_main([str(log), "--mllp", str(endpoint), "--outbox", str(outbox)])
    sent = capsys.readouterr().out
    expected = to_hl7v2_messages(load_review(log))
    assert code == 0, sent
    assert received.invalid == []
    assert [m.to_er7() + "\r" for m in received.messages] == expected
    assert f"{len(expected)} delivered, 0 refused, 0 waiting" in sent

    # 3. the open log format, checked by a verifier that shares no code with titrator
    if NODE is None:
        if os.environ.get("CI"):
            raise AssertionError("Node.js is required in CI (.ci/run installs it)")
        pytest.skip("no node on PATH")
    done = subprocess.run(
        [NODE, str(ROOT / "tools" / "verify-log.mjs"), str(log), "--key-file", str(key_file),
         "--expect-head", verified.head.hash],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    lines = log.read_bytes().count(b"\n")
    assert done.stdout.strip() == f"OK {lines} records, head {verified.head.hash} (MAC-verified)"
