"""The outbox file and the background shipper's rounds, retries and thread (no store here).

The store itself is exercised in tests/integration/store/test_background_ship.py; here the
sender is a small recording function, and time is a counter the test moves.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from titrator.shell.outbox import Outbox, OutboxError
from titrator.shell.shipping import Attempt, BackgroundShipper, Backoff, News, Verdict

HASH_1 = "1" * 64
HASH_2 = "2" * 64


class Seconds:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.now = 500.0

    def __call__(self) -> float:
        return self.now


class Replies:
    """A sender that answers from a list and records what it was asked."""

    def __init__(self, *replies: Attempt) -> None:
        self.replies = list(replies)
        self.asked: list[Path] = []

    def __call__(self, log: Path) -> Attempt:
        self.asked.append(log)
        return self.replies.pop(0)


def test_an_entry_is_replaced_by_a_newer_head_and_removed_only_for_its_own(
    tmp_path: Path,
) -> None:
    outbox = Outbox(tmp_path)
    outbox.add("s-1", tmp_path / "s-1.jsonl", 10, HASH_1)
    outbox.add("s-2", tmp_path / "s-2.jsonl", 4, HASH_1)
    outbox.add("s-1", tmp_path / "s-1.jsonl", 12, HASH_2)  # resumed and closed again
    assert [(e.session_id, e.head_seq) for e in outbox.entries()] == [("s-2", 4), ("s-1", 12)]
    outbox.remove("s-1", HASH_1)  # an older head was stored: the newer one still waits
    assert [e.session_id for e in outbox.entries()] == ["s-2", "s-1"]
    outbox.remove("s-1", HASH_2)
    assert [e.session_id for e in outbox.entries()] == ["s-2"]
    assert not list(tmp_path.glob(".*.tmp"))  # written through a temporary file, renamed


def test_a_damaged_outbox_is_a_reason_never_a_traceback(tmp_path: Path) -> None:
    (tmp_path / "ward-outbox.json").write_text('{"not": "a list"}')
    with pytest.raises(OutboxError, match="is not a JSON list"):
        Outbox(tmp_path).entries()
    news = BackgroundShipper(Outbox(tmp_path), Replies()).run_once()
    assert [(n.session_id, n.attempt.verdict) for n in news] == [("", Verdict.RETRY)]
    assert "set it aside" in news[0].attempt.detail


@given(st.integers(min_value=1, max_value=10_000))
def test_the_retry_delay_doubles_from_30_s_and_never_exceeds_30_min(failures: int) -> None:
    backoff = Backoff()
    delay = backoff.delay_s(failures)
    assert 30 <= delay <= 1800
    if failures > 1:
        assert delay == min(1800, 2 * backoff.delay_s(failures - 1))


def test_retries_follow_the_backoff_and_a_send_that_raises_is_retried_too(
    tmp_path: Path,
) -> None:
    outbox = Outbox(tmp_path)
    outbox.add("s-1", tmp_path / "s-1.jsonl", 3, HASH_1)
    clock = Seconds()
    replies = Replies(
        Attempt(Verdict.RETRY, "store down"),
        Attempt(Verdict.RETRY, "store down"),
        Attempt(Verdict.SENT, "shipped 4 records"),
    )

    calls: list[Path] = []

    def send(log: Path) -> Attempt:
        calls.append(log)
        if len(calls) == 2:  # the second attempt meets a bug in the sender
            raise RuntimeError("a bug in the sender")
        return replies(log)

    shipper = BackgroundShipper(outbox, send, monotonic=clock)
    assert [n.retry_in_s for n in shipper.run_once()] == [30]
    clock.now += 30
    (bug,) = shipper.run_once()
    assert bug.attempt == Attempt(Verdict.RETRY, "unexpected error: RuntimeError")
    assert bug.retry_in_s == 60
    clock.now += 59
    assert shipper.run_once() == []
    clock.now += 1
    assert [n.retry_in_s for n in shipper.run_once()] == [120]
    clock.now += 120
    (sent,) = shipper.run_once()
    assert (sent.attempt.verdict, sent.waiting, shipper.next_wait_s()) == (Verdict.SENT, 0, None)
    assert outbox.entries() == []


def test_the_thread_ships_the_outbox_at_start_up_and_what_is_added_later(
    tmp_path: Path,
) -> None:
    outbox = Outbox(tmp_path)
    outbox.add("s-old", tmp_path / "s-old.jsonl", 3, HASH_1)  # left by an earlier run
    told: list[News] = []
    heard = threading.Condition()

    def news(item: News) -> None:
        with heard:
            told.append(item)
            heard.notify_all()

    replies = Replies(Attempt(Verdict.SENT, "up to date"), Attempt(Verdict.SENT, "shipped 9"))
    shipper = BackgroundShipper(outbox, replies, on_news=news)
    shipper.start()
    with heard:
        assert heard.wait_for(lambda: len(told) == 1, timeout=60)
    shipper.add("s-new", tmp_path / "s-new.jsonl", 8, HASH_2)  # a session just closed
    with heard:
        assert heard.wait_for(lambda: len(told) == 2, timeout=60)
    shipper.stop()
    assert shipper.join(timeout_s=60)
    assert [(n.session_id, n.attempt.detail) for n in told] == [
        ("s-old", "up to date"),
        ("s-new", "shipped 9"),
    ]
    assert replies.asked == [tmp_path / "s-old.jsonl", tmp_path / "s-new.jsonl"]


@pytest.mark.parametrize(
    ("attempt", "words"),
    [
        (Attempt(Verdict.SENT, "up to date"), "Ward store: this session is stored (up to date)."),
        (
            Attempt(Verdict.REFUSED, "DAMAGED: line 3: hash mismatch"),
            "Ward store: refused this session (DAMAGED: line 3: hash mismatch). It stays on "
            "this workstation; tell the ward administrator.",
        ),
        (
            Attempt(Verdict.RETRY, "connection refused"),
            "Ward store: not reachable now (connection refused). The session is kept in the "
            "outbox and sent later in 30 min; nothing to do at the bedside.",
        ),
    ],
)
def test_the_notice_says_what_happened_in_words(attempt: Attempt, words: str) -> None:
    retry = 1800.0 if attempt.verdict is Verdict.RETRY else None
    assert News("s-1", attempt, 1, retry).notice() == words
