"""One log as the review app's session list shows it: a row's values and the summary's figures.

The review app lists every log of a folder. It used to keep every log's full `SessionReview`
(timeline, segments, vitals, episodes) for as long as the list was open, so its memory grew
with the folder (issue 17: about 0.7 KB a record, 5 KB before the review stopped holding
payloads). A `SessionListing` keeps what the row, the file line and the folder summary need;
the full review is read again when the reviewer opens the session (`ReviewApp.open_session`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from titrator.review.integrity import IntegrityStatus
from titrator.review.model import InfusionOutcome, SessionReview
from titrator.review.summary import LoadProblem, LogFigures, review_each

__all__ = ["SessionListing", "load_listings"]


@dataclass(frozen=True, slots=True)
class SessionListing:
    """A log's row in the session list, without the log.

    Attributes:
        path: the log file.
        started_at: when the session opened (else its first record's time).
        integrity: the log's integrity status.
        outcome: how the infusion ended.
        training_marks: why it is a demo or training log, in words (empty: a real patient).
        patient_id: the first patient identifier, if the setup recorded one.
        product_name: the product's name, if known.
        product_id: the product's id, if known.
        indication_id: the indication's id, if known.
        reactions: number of reaction episodes.
        overrides: number of overrides.
        figures: the folder summary's figures of this log.
    """

    path: Path
    started_at: datetime | None
    integrity: IntegrityStatus
    outcome: InfusionOutcome
    training_marks: tuple[str, ...]
    patient_id: str | None
    product_name: str | None
    product_id: str | None
    indication_id: str | None
    reactions: int
    overrides: int
    figures: LogFigures

    @property
    def training(self) -> bool:
        """True for a demo or training log: no real patient."""
        return bool(self.training_marks)

    @classmethod
    def of_review(cls, review: SessionReview) -> SessionListing:
        """The listing of a review already built."""
        header = review.header
        return cls(
            path=review.path,
            started_at=review.started_at,
            integrity=review.integrity.status,
            outcome=review.outcome,
            training_marks=review.training_marks,
            patient_id=header.patient_id,
            product_name=header.product_name,
            product_id=header.product_id,
            indication_id=header.indication_id,
            reactions=len(review.reactions),
            overrides=len(review.overrides),
            figures=LogFigures.of_review(review),
        )


def load_listings(
    logs: Sequence[Path],
    key: bytes | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[list[SessionListing], list[LoadProblem]]:
    """Review every log, one at a time, and keep its listing.

    A file that cannot be opened is reported, never fatal.

    Args:
        logs: the files.
        key: the site's HMAC key, if available.
        progress: called with (done, total) after each file.

    Returns:
        The listings (file order) and the files that could not be read.
    """
    return review_each(logs, SessionListing.of_review, key, progress)
