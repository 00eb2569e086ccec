"""Background shipping from the outbox: killed mid-ship, two workstations at once, store down.

One body for SQLite and the real PostgreSQL server (`store_url`). The time of retries is a
counter the test moves; nothing sleeps.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from tests.integration.store.logs import NOW, Site, connect, count, race, record_session, site
from tests.support.forkkill import fork_and_kill
from tests.support.postgres import PgServer
from titrator.audit.reader import read_for_review
from titrator.shell.outbox import Outbox, OutboxEntry
from titrator.shell.shipping import BackgroundShipper, Backoff, News, Verdict
from titrator.store import schema
from titrator.store.sender import StoreSender


class Seconds:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def queue(here: Site, log: Path, data_dir: Path | None = None) -> Outbox:
    """An outbox in `data_dir` (default: the site's) holding `log`'s head."""
    read = read_for_review(log, key=here.key)
    last = read.records[-1][1]
    outbox = Outbox(data_dir or here.data_dir)
    outbox.add(read.verification.session_id or "", log, last.seq, last.hash)
    return outbox


def sender(here: Site, url: str, **kwargs: object) -> StoreSender:
    return StoreSender(url, key_file=here.key_file, ward="ward-3", now=lambda: NOW, **kwargs)  # type: ignore[arg-type]


def test_a_shipper_killed_mid_ship_leaves_nothing_and_the_next_start_completes_it(
    tmp_path: Path, store_url: str
) -> None:
    here = site(tmp_path)
    log = record_session(here, "s-bg-killed", script="fever")
    outbox = queue(here, log)
    connect(store_url).close()  # migrated before forking: the child only ships

    def child(report: int) -> None:
        def hang_after_writing(stage: str) -> None:
            if stage == "stored":  # rows written, transaction open: killed here
                os.write(report, b"S")
                while True:
                    pass

        shipper = BackgroundShipper(outbox, sender(here, store_url, on_stage=hang_after_writing))
        shipper.run_once()

    killed = fork_and_kill(child, lambda fd: os.read(fd, 1), jitter_loops=0)

    assert (killed.killed, killed.before) == (True, b"S")
    store = connect(store_url)
    for table in (schema.records, *schema.FACT_TABLES):
        assert count(store, table) == 0, table.name
    assert [e.session_id for e in outbox.entries()] == ["s-bg-killed"]

    news = BackgroundShipper(outbox, sender(here, store_url)).run_once()  # the next start-up

    lines = len(log.read_bytes().splitlines())
    assert [(n.session_id, n.attempt.verdict) for n in news] == [("s-bg-killed", Verdict.SENT)]
    assert news[0].attempt.detail == f"shipped {lines} records"
    assert count(store, schema.records) == lines
    assert count(store, schema.sessions) == 1
    assert outbox.entries() == []


def test_two_workstations_shipping_one_session_at_once_one_stores_it(
    tmp_path: Path, store_url: str
) -> None:
    here = site(tmp_path)
    log = record_session(here, "s-bg-race")
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    outboxes = {"a": queue(here, log, tmp_path / "a"), "b": queue(here, log, tmp_path / "b")}
    connect(store_url).close()
    news: dict[str, list[News]] = {}

    def workstation(name: str, stage: Callable[[str], None]) -> None:
        send = sender(here, store_url, on_stage=stage)
        news[name] = BackgroundShipper(outboxes[name], send).run_once()
        send.close()

    race(workstation)
    lines = len(log.read_bytes().splitlines())
    assert [n.attempt.detail for n in news["a"]] == [f"shipped {lines} records"]
    assert [n.attempt.detail for n in news["b"]] == ["up to date"]
    assert all(o.entries() == [] for o in outboxes.values())
    store = connect(store_url)
    assert count(store, schema.records) == lines
    assert count(store, schema.sessions) == 1


def test_a_store_that_cannot_be_reached_keeps_the_head_and_a_later_attempt_ships_it(
    tmp_path: Path,
) -> None:
    here = site(tmp_path)
    log = record_session(here, "s-bg-down")
    outbox = queue(here, log)
    folder = tmp_path / "not-yet"  # the store's folder is missing: the store is down
    clock = Seconds()
    told: list[News] = []
    shipper = BackgroundShipper(
        outbox,
        sender(here, str(folder / "ward.sqlite")),
        monotonic=clock,
        backoff=Backoff(first_s=30, factor=2, cap_s=100),
        on_news=told.append,
    )

    first = shipper.run_once()
    assert [n.attempt.verdict for n in first] == [Verdict.RETRY]
    assert first[0].retry_in_s == 30
    assert "does not exist" in first[0].attempt.detail
    assert "sent later in 30 s; nothing to do at the bedside" in first[0].notice()
    (entry,) = outbox.entries()
    assert (entry.attempts, entry.refused) == (1, "")
    assert shipper.next_wait_s() == 30
    clock.now += 29
    assert shipper.run_once() == []  # not due yet: no attempt at all
    clock.now += 1
    assert [n.retry_in_s for n in shipper.run_once()] == [60]  # still down: 30, 60, 100, 100
    clock.now += 60
    assert [n.retry_in_s for n in shipper.run_once()] == [100]
    assert outbox.entries()[0].attempts == 3

    folder.mkdir()  # the store is back
    clock.now += 100
    (sent,) = shipper.run_once()
    assert sent.attempt.verdict is Verdict.SENT
    assert sent.notice().startswith("Ward store: this session is stored (shipped ")
    assert outbox.entries() == []
    assert count(connect(str(folder / "ward.sqlite")), schema.records) == len(
        log.read_bytes().splitlines()
    )
    assert [n.attempt.verdict for n in told] == [Verdict.RETRY] * 3 + [Verdict.SENT]


def test_postgres_dropping_mid_ship_keeps_the_head_for_the_next_attempt(
    tmp_path: Path, pg_server: PgServer
) -> None:
    url = pg_server.new_database()
    here = site(tmp_path)
    log = record_session(here, "s-bg-drop")
    outbox = queue(here, log)
    connect(url).close()
    drops = [1]

    def drop_the_store(stage: str) -> None:
        if stage == "stored" and drops:  # once: rows written, uncommitted, the server kills us
            drops.pop()
            with pg_server.admin(url) as admin:
                admin.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )

    clock = Seconds()
    shipper = BackgroundShipper(outbox, sender(here, url, on_stage=drop_the_store), monotonic=clock)

    (failed,) = shipper.run_once()
    assert failed.attempt.verdict is Verdict.RETRY
    assert failed.attempt.detail.startswith("ward store postgresql+psycopg://postgres@/")
    assert count(connect(url), schema.records) == 0
    clock.now += 30
    (sent,) = shipper.run_once()
    assert sent.attempt.verdict is Verdict.SENT
    assert count(connect(url), schema.records) == len(log.read_bytes().splitlines())
    assert outbox.entries() == []


def test_a_forked_log_is_refused_kept_and_not_retried(tmp_path: Path, store_url: str) -> None:
    here = site(tmp_path)
    log = record_session(here, "s-bg-fork")
    outbox = queue(here, log)
    clock = Seconds()
    shipper = BackgroundShipper(outbox, sender(here, store_url), monotonic=clock)
    assert [n.attempt.verdict for n in shipper.run_once()] == [Verdict.SENT]
    lines = log.read_bytes().splitlines(keepends=True)
    log.write_bytes(b"".join(lines[:-1]))  # the log now ends before the stored head
    queue(here, log)

    (refused,) = shipper.run_once()

    assert refused.attempt.verdict is Verdict.REFUSED
    assert refused.attempt.detail.startswith("FORK at seq ")
    assert "tell the ward administrator" in refused.notice()
    (entry,) = outbox.entries()
    assert isinstance(entry, OutboxEntry)
    assert entry.refused.startswith("FORK at seq ")
    clock.now += 10_000
    assert shipper.run_once() == []  # a refusal is not retried
