"""Pre-infusion documentation: premedication, pre-hydration, IgA status and the lot's expiry.

The checklist says that each was checked; this records what was given and found, validated
field by field as typed (nothing corrected), with the rules that follow from it:

- a premedication given less than 30 or more than 90 minutes before the start is a notice (the
  nurse decides; the notice is shown and recorded). Sources: an ICU IVIG protocol gives the
  premedication starting "30 minutes prior to IVIG infusion"
  (https://nsccm.org.np/public/protocols/show-content/icu-protocol/administration-of-intravenous-immune-globulin-ivig
  , accessed 2026-12-06) and a premedication list for IVIG says "Take 30 – 60 minutes before
  IVIG" for paracetamol, NSAIDs and antihistamines
  (http://cidpneuropathysupport.com/premeds-often-used-before-ivig-treatment/ , accessed
  2026-12-06). The upper bound of 90 minutes is a site choice: the published 60 minutes plus 30
  for the usual wait between premedication and the start. The start is not known yet when the
  documentation is recorded (the plan preview and baseline vital signs follow within minutes),
  so the minutes are counted to the time of recording;
- an IgA-deficient patient with antibodies against IgA and a history of hypersensitivity is
  refused a product whose label contraindicates it (the product file carries the label's words
  and where they were read); for a product whose file has no such statement the app says that
  the contraindication is not on file, never that there is none;
- a lot whose expiry date is before the session's date is refused (`lot_scan.expiry_problem`);
  a scanned GTIN that is not the product's is refused (`lot_scan.gtin_check`: a GTIN holding
  another product's NDC is refused naming both products).

Pure: the session's date and the instant are passed in.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, timedelta, tzinfo
from decimal import Decimal
from enum import StrEnum
from typing import Final, Literal, get_args

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from titrator.domain.clock import Instant
from titrator.domain.library import Product
from titrator.domain.lot_scan import (
    GtinCheck,
    LotScan,
    LotScanError,
    expiry_problem,
    gtin_check,
    gtin_check_text,
)
from titrator.domain.setup import FieldProblem
from titrator.domain.units import InputError, parse_plain_decimal

PREMED_MIN_BEFORE_MIN: Final = 30
"""Premedication is given at least this long before the start (ICU protocol: "start 30 minutes
prior"; premedication list: "30 – 60 minutes before IVIG"; see the module docstring)."""
PREMED_MAX_BEFORE_MIN: Final = 90
"""Site choice: the published 60 minutes plus 30 for the wait before the start."""
PREMED_ROWS: Final = 3
"""Premedication rows on the form (premed1_* .. premed3_*)."""
HYDRATION_MAX_ML: Final = Decimal(3000)
"""A typing guard, not a clinical limit (the ICU protocol's pre-infusion bolus is 500 mL)."""
PREMED_ROUTES: Final = ("PO", "IV", "IM", "SC")
"""Routes a premedication is given by."""
PREMED_UNITS: Final = ("mg", "microgram", "g", "mL")
"""Units a premedication dose is written in."""
HydrationRoute = Literal["IV", "PO"]
HYDRATION_ROUTES: Final[tuple[str, ...]] = get_args(HydrationRoute)
_DATE: Final = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_TIME: Final = re.compile(r"^(\d{1,2}):(\d{2})$")


class IgaStatus(StrEnum):
    """What the record says about the patient's IgA."""

    NOT_TESTED = "not_tested"
    NORMAL = "normal"
    DEFICIENT = "deficient"
    ANTI_IGA = "anti_iga"
    """IgA deficient with antibodies against IgA."""

    @property
    def label(self) -> str:
        """Words for the form and the record."""
        return _IGA_LABELS[self]


_IGA_LABELS: Final = {
    IgaStatus.NOT_TESTED: "not tested",
    IgaStatus.NORMAL: "normal",
    IgaStatus.DEFICIENT: "deficient (no anti-IgA antibodies known)",
    IgaStatus.ANTI_IGA: "deficient with anti-IgA antibodies",
}


class Premedication(BaseModel):
    """One premedication as given."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    drug: str = Field(min_length=1, max_length=120)
    dose: Decimal = Field(gt=0)
    unit: str
    """One of `PREMED_UNITS`."""
    route: str
    """One of `PREMED_ROUTES`."""
    given_at: AwareDatetime
    """When it was given (UTC)."""
    minutes_before: int
    """Minutes from when it was given to when the documentation was recorded."""


class PreHydration(BaseModel):
    """Fluid given before the infusion."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    volume_ml: Decimal = Field(gt=0)
    route: HydrationRoute


class PreInfusion(BaseModel):
    """The pre-infusion documentation as recorded (`preinfusion_recorded`)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    product_id: str
    """The product it was checked against."""
    lot: str
    """The lot it documents (the setup's lot)."""
    lot_expiry: date
    checked_on: date
    """The session's date the expiry was checked against."""
    scan: LotScan | None = None
    """The GS1 barcode the lot was scanned from (None: typed)."""
    gtin_check: GtinCheck | None = None
    """How the scanned GTIN was checked (None: not scanned)."""
    iga_status: IgaStatus
    hypersensitivity_history: bool | None = None
    """A history of hypersensitivity to immunoglobulin (asked with anti-IgA antibodies)."""
    iga_contraindication: str | None = None
    """The product's label contraindication as on file (None: not on file)."""
    premedications: tuple[Premedication, ...] = ()
    """Empty: none given."""
    prehydration: PreHydration | None = None
    notices: tuple[str, ...] = ()
    """What the nurse was told (premedication timing, IgA, an unchecked GTIN)."""
    raw: dict[str, str] = Field(default_factory=dict)
    """Every field exactly as typed."""


class PreInfusionInvalid(ValueError):
    """The documentation has bad fields; `problems` names each."""

    def __init__(self, problems: list[FieldProblem]) -> None:
        super().__init__("; ".join(f"{p.field}: {p.reason}" for p in problems))
        self.problems = problems


def premed_notice(drug: str, minutes_before: int) -> str | None:
    """The notice for a premedication given outside 30-90 minutes before the start."""
    if PREMED_MIN_BEFORE_MIN <= minutes_before <= PREMED_MAX_BEFORE_MIN:
        return None
    when = "less than" if minutes_before < PREMED_MIN_BEFORE_MIN else "more than"
    bound = (
        PREMED_MIN_BEFORE_MIN if minutes_before < PREMED_MIN_BEFORE_MIN else (PREMED_MAX_BEFORE_MIN)
    )
    return (
        f"NOTICE: {drug} was given {minutes_before} min ago, {when} {bound} min before the"
        f" start (usual: {PREMED_MIN_BEFORE_MIN}-60 min before); check with the prescriber."
    )


def iga_refusal(product: Product, status: IgaStatus, hypersensitivity: bool | None) -> str | None:
    """Why this product is refused for this IgA status (None: it is not)."""
    if status is IgaStatus.ANTI_IGA and hypersensitivity and product.iga_contraindication:
        return (
            f"{product.name} is contraindicated: its label says "
            f"{product.iga_contraindication.text!r}; choose another product in the setup"
        )
    return None


def iga_notice(product: Product, status: IgaStatus, hypersensitivity: bool | None) -> str | None:
    """What the nurse must know about IgA with this product (None: nothing)."""
    content = f"{product.name} IgA content: {product.iga_content}"
    if status is IgaStatus.ANTI_IGA and hypersensitivity and not product.iga_contraindication:
        return (
            f"NOTICE: anti-IgA antibodies and a history of hypersensitivity: {product.name}'s"
            f" label contraindication is not on file; read its Contraindications. {content}."
        )
    if status is IgaStatus.ANTI_IGA:
        return f"NOTICE: anti-IgA antibodies: greater risk of severe hypersensitivity. {content}."
    if status is IgaStatus.DEFICIENT:
        return f"NOTICE: IgA deficient. {content}."
    return None


def _given_at(raw: str, field: str, now: Instant, local: tzinfo) -> datetime | FieldProblem:
    """HH:MM on the workstation's clock, today (or yesterday when that is 12 h ahead)."""
    match = _TIME.match(raw.strip())
    if not match or int(match[1]) > 23 or int(match[2]) > 59:
        return FieldProblem(field=field, reason="use HH:MM (24-hour clock)", raw=raw)
    local_now = now.wall_utc.astimezone(local)
    given = local_now.replace(hour=int(match[1]), minute=int(match[2]), second=0, microsecond=0)
    if given - local_now > timedelta(hours=12):
        given -= timedelta(days=1)
    if given > local_now + timedelta(minutes=1):
        return FieldProblem(field=field, reason="is later than now", raw=raw)
    return given.astimezone(UTC)


def _choice(raw: str, field: str, options: tuple[str, ...]) -> str | FieldProblem:
    for option in options:
        if raw.strip().lower() == option.lower():
            return option
    return FieldProblem(field=field, reason="choose one of " + ", ".join(options), raw=raw)


def _premedication(
    raw: Mapping[str, str], row: int, now: Instant, local: tzinfo, problems: list[FieldProblem]
) -> Premedication | None:
    names = {part: f"premed{row}_{part}" for part in ("drug", "dose", "unit", "route", "time")}
    texts = {part: raw.get(name, "") for part, name in names.items()}
    if not any(text.strip() for text in texts.values()):
        return None
    before = len(problems)
    drug = texts["drug"].strip()
    if not drug or len(drug) > 120:
        problems.append(
            FieldProblem(field=names["drug"], reason="name the drug", raw=texts["drug"])
        )
    dose: Decimal | None = None
    try:
        dose = parse_plain_decimal(texts["dose"], names["dose"])
        if dose <= 0:
            raise InputError(names["dose"], "must be above 0", texts["dose"])
    except InputError as error:
        problems.append(FieldProblem(field=names["dose"], reason=error.reason, raw=texts["dose"]))
    unit = _choice(texts["unit"], names["unit"], PREMED_UNITS)
    route = _choice(texts["route"], names["route"], PREMED_ROUTES)
    given = _given_at(texts["time"], names["time"], now, local)
    for value in (unit, route, given):
        if isinstance(value, FieldProblem):
            problems.append(value)
    if (
        len(problems) > before
        or dose is None
        or isinstance(unit, FieldProblem)
        or isinstance(route, FieldProblem)
        or isinstance(given, FieldProblem)
    ):
        return None
    minutes = int((now.wall_utc - given).total_seconds() // 60)
    return Premedication(
        drug=drug, dose=dose, unit=unit, route=route, given_at=given, minutes_before=max(minutes, 0)
    )


def _hydration(raw: Mapping[str, str], problems: list[FieldProblem]) -> PreHydration | None:
    volume_raw = raw.get("hydration_ml", "")
    route_raw = raw.get("hydration_route", "")
    if not volume_raw.strip() and not route_raw.strip():
        return None
    volume: Decimal | None = None
    try:
        volume = parse_plain_decimal(volume_raw, "hydration_ml")
        if not Decimal(1) <= volume <= HYDRATION_MAX_ML:
            raise InputError("hydration_ml", f"must be 1 to {HYDRATION_MAX_ML} mL", volume_raw)
    except InputError as error:
        problems.append(FieldProblem(field="hydration_ml", reason=error.reason, raw=volume_raw))
        volume = None
    route = _choice(route_raw, "hydration_route", HYDRATION_ROUTES)
    if isinstance(route, FieldProblem):
        problems.append(route)
        return None
    if volume is None:
        return None
    return PreHydration(volume_ml=volume, route=route)  # type: ignore[arg-type]


def _expiry(
    raw: str, today: date, scan: LotScan | None, problems: list[FieldProblem]
) -> date | None:
    text = raw.strip()
    if not text:
        problems.append(FieldProblem(field="lot_expiry", reason="required (YYYY-MM-DD)", raw=raw))
        return None
    try:
        if not _DATE.match(text):
            raise ValueError
        expiry = date.fromisoformat(text)
    except ValueError:
        problems.append(FieldProblem(field="lot_expiry", reason="use YYYY-MM-DD", raw=raw))
        return None
    if scan is not None and scan.expiry is not None and scan.expiry != expiry:
        problems.append(
            FieldProblem(
                field="lot_expiry",
                reason=f"differs from the scanned expiry {scan.expiry.isoformat()}",
                raw=raw,
            )
        )
        return None
    problem = expiry_problem(expiry, today)
    if problem is not None:
        problems.append(FieldProblem(field="lot_expiry", reason=f"lot {problem}", raw=raw))
        return None
    return expiry


def validate_preinfusion(
    raw: Mapping[str, str],
    *,
    product: Product,
    lot: str,
    scan: LotScan | None,
    today: date,
    now: Instant,
    local: tzinfo,
    others: Iterable[Product] = (),
) -> PreInfusion:
    """Validate the pre-infusion documentation as typed.

    Args:
        raw: field name -> text: lot_expiry (YYYY-MM-DD), iga_status (an `IgaStatus` value),
            hypersensitivity ('yes'/'no'; needed with anti-IgA antibodies), premed1_drug,
            premed1_dose, premed1_unit, premed1_route, premed1_time (HH:MM) .. premed3_*,
            hydration_ml, hydration_route ('IV'/'PO'); blank rows mean none given.
        product: the chosen product.
        lot: the setup's lot.
        scan: the GS1 barcode the lot came from, if it was scanned.
        today: the session's date (the expiry is checked against it).
        now: when it is recorded (premedication minutes are counted to it).
        local: the workstation's time zone (premedication times are typed on its clock).
        others: the library's products, so that a scanned GTIN holding another product's NDC
            is refused with that product's name.

    Raises:
        PreInfusionInvalid: naming every bad field.
    """
    problems: list[FieldProblem] = []
    check: GtinCheck | None = None
    if scan is not None:
        try:
            check = gtin_check(product, scan.gtin, others)
        except LotScanError as error:
            problems.append(FieldProblem(field="lot", reason=error.reason, raw=scan.raw))
    expiry = _expiry(raw.get("lot_expiry", ""), today, scan, problems)
    status_raw = raw.get("iga_status", "")
    status = IgaStatus(status_raw) if status_raw in set(IgaStatus) else None
    if status is None:
        problems.append(
            FieldProblem(field="iga_status", reason="choose the IgA status", raw=status_raw)
        )
    history_raw = raw.get("hypersensitivity", "")
    history = {"yes": True, "no": False}.get(history_raw)
    if status is IgaStatus.ANTI_IGA and history is None:
        problems.append(
            FieldProblem(
                field="hypersensitivity",
                reason="with anti-IgA antibodies: say whether there is a history of "
                "hypersensitivity to immunoglobulin",
                raw=history_raw,
            )
        )
    if status is not None:
        refusal = iga_refusal(product, status, history)
        if refusal is not None:
            problems.append(FieldProblem(field="iga_status", reason=refusal, raw=status_raw))
    premeds = [
        premed
        for row in range(1, PREMED_ROWS + 1)
        if (premed := _premedication(raw, row, now, local, problems)) is not None
    ]
    hydration = _hydration(raw, problems)
    if problems or expiry is None or status is None:
        raise PreInfusionInvalid(problems)
    notices = [text for p in premeds if (text := premed_notice(p.drug, p.minutes_before))]
    iga_text = iga_notice(product, status, history)
    if iga_text is not None:
        notices.append(iga_text)
    if check is GtinCheck.NOT_ON_FILE:
        notices.append(f"NOTICE: {gtin_check_text(product, check)}.")
    return PreInfusion(
        product_id=product.id,
        lot=lot,
        lot_expiry=expiry,
        checked_on=today,
        scan=scan,
        gtin_check=check,
        iga_status=status,
        hypersensitivity_history=history,
        iga_contraindication=(
            product.iga_contraindication.text if product.iga_contraindication else None
        ),
        premedications=tuple(premeds),
        prehydration=hydration,
        notices=tuple(notices),
        raw=dict(raw),
    )


def record_problem(record: PreInfusion, product_id: str, lot: str) -> str | None:
    """Why the engine refuses this record for a session of `product_id` and `lot` (or None).

    The same rules as `validate_preinfusion`, on what the record itself says, so that a record
    that was not validated (or a log edited by hand) cannot open the way to the infusion.
    """
    if record.product_id != product_id:
        return f"documented for {record.product_id}, but the plan is for {product_id}"
    if record.lot != lot:
        return f"documents lot {record.lot!r}, but the session's lot is {lot!r}"
    expired = expiry_problem(record.lot_expiry, record.checked_on)
    if expired is not None:
        return f"lot {expired}"
    contraindicated = (
        record.iga_status is IgaStatus.ANTI_IGA
        and record.hypersensitivity_history
        and record.iga_contraindication is not None
    )
    if contraindicated:
        return "the product's label contraindicates it (IgA deficiency with anti-IgA antibodies)"
    return None
