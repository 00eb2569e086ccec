"""The IVIG product library: pydantic models of one product file and its semantic rules.

A product file (``protocols/products/<id>.toml``) holds the label facts for one product: its
concentration, formulation, sources, and per indication the dose range, initial rate and its
minimum duration, step interval, maximum rate, the numeric at-risk cap where the label prints
one, the first-infusion rule, and the ramp ladder. Every rate says whether it is a label fact or
a site choice. The models are frozen and refuse unknown keys; `semantic_problems` adds the rules
a schema cannot express (ladder starts at the initial rate, never exceeds the maximum, ...).
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator, Field
from pydantic.json_schema import SkipJsonSchema

from titrator.domain.model import DocumentedFrozen
from titrator.domain.units import Concentration, RateUnit, WeightRate, decimal_bound_problem
from titrator.domain.validation_errors import Problem

SCHEMA_VERSION = 1


def _no_text_or_float(value: Any) -> Any:
    # Numbers in product files must be written as TOML numbers (read exactly as Decimal); a
    # quoted "0.5", a boolean or a binary float is refused rather than coerced.
    if isinstance(value, bool | str | float):
        raise ValueError("must be a plain number (not text, a boolean or a binary float)")
    return value


def _finite(value: Decimal) -> Decimal:
    problem = decimal_bound_problem(value)  # finite, and bounded before any arithmetic
    if problem is not None:
        raise ValueError(problem)
    return value


PositiveDecimal = Annotated[
    Decimal, BeforeValidator(_no_text_or_float), AfterValidator(_finite), Field(gt=0)
]
"""A positive, finite decimal written as a number."""

Minutes = Annotated[int, BeforeValidator(_no_text_or_float), Field(gt=0, le=24 * 60)]
"""A whole number of minutes, 1 to 1440."""

Slug = Annotated[str, Field(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$", max_length=40)]
"""A lower-case identifier such as ``gammagard-liquid``."""

_URL = re.compile(r"^https?://\S+$")


def _url(value: str) -> str:
    if not _URL.match(value):
        raise ValueError("must be an http(s) URL")
    return value


Url = Annotated[str, AfterValidator(_url)]
"""An http(s) URL."""


class Provenance(StrEnum):
    """Whether a number is printed in the product label or chosen by the site."""

    LABEL = "label"
    SITE = "site"


class PrintedRate(DocumentedFrozen):
    """A rate as printed, in one unit."""

    value: PositiveDecimal
    """The number as printed."""
    unit: RateUnit
    """The unit as printed."""

    def weight_rate(self) -> WeightRate:
        """This rate as a typed quantity."""
        return WeightRate(self.value, self.unit)


class LabelRate(PrintedRate):
    """A label rate with, where the label prints it, the same rate in a second unit.

    Labels sometimes print two numbers that do not convert exactly into each other (Octagam 10%:
    3.3 mg/kg/min and 0.03 mL/kg/min, which is 3.0 mg/kg/min). Used as a limit, the more
    conservative of the two applies.
    """

    also_printed: PrintedRate | None = None
    """The same rate as printed in a second unit, if the label prints one."""

    def conservative(self, conc: Concentration) -> WeightRate:
        """The lower of the printed numbers, as a typed quantity."""
        rates = [self.weight_rate()]
        if self.also_printed is not None:
            rates.append(self.also_printed.weight_rate())
        return min(rates, key=lambda rate: rate.exact_ml_per_kg_h(conc))


class Ladder(DocumentedFrozen):
    """The ramp: the rates in order, each held at least `interval_min` before the next."""

    source: Provenance
    """'label' if the label prints this ladder, 'site' if the site chose it."""
    unit: RateUnit
    """The unit of every rate in `rates`."""
    rates: tuple[PositiveDecimal, ...] = Field(min_length=1)
    """The rates in increasing order; the first is the label's initial rate."""
    note: str = Field(min_length=1)
    """Where the ladder comes from, in words."""

    def weight_rates(self) -> tuple[WeightRate, ...]:
        """The rungs as typed quantities."""
        return tuple(WeightRate(value, self.unit) for value in self.rates)


class DoseRange(DocumentedFrozen):
    """The dose for one infusion, g/kg, with the label's regimen in words."""

    min_g_per_kg: PositiveDecimal
    """Lowest usual dose per infusion; a lower dose is allowed with a note (divided doses)."""
    max_g_per_kg: PositiveDecimal
    """Highest dose per infusion the label's regimen allows; a higher dose is refused."""
    regimen: str = Field(min_length=1)
    """The label's dosing regimen, quoted or paraphrased."""


class FirstInfusionRule(DocumentedFrozen):
    """How a first infusion (naive, product switch, or more than 8 weeks since the last) differs.

    Every rule must make the first infusion slower (a lower maximum, a lower start, longer
    steps, or a slower ladder), unless the label itself requires the same ramp for first and
    later infusions; then `label_requires_same_ramp` says so and the source is the label.
    """

    source: Provenance
    """'label' if the label prints this rule, 'site' otherwise."""
    note: str = Field(min_length=1)
    """The rule in words, with its source (a site rule names the published source)."""
    max_rate: LabelRate | None = None
    """A lower maximum for first infusions, if any."""
    initial_rate: LabelRate | None = None
    """A lower initial rate for first infusions, if the label prints one (then `ladder` starts
    there)."""
    initial_duration_min: Minutes | None = None
    """A longer minimum time at the initial rate for first infusions, if any."""
    ladder: Ladder | None = None
    """Its own ladder, if any (otherwise the indication's ladder, capped by `max_rate`)."""
    step_interval_min: Minutes | None = None
    """A longer minimum time between increases, if any."""
    observation_min: Minutes | None = None
    """Post-infusion observation for first infusions, if the product file sets one."""
    label_requires_same_ramp: bool = False
    """True only where the label requires the same ramp for first and later infusions."""


class Course(DocumentedFrozen):
    """A course the label's regimen allows: a total dose split evenly over consecutive days."""

    total_g_per_kg: PositiveDecimal
    """The course's total dose, g/kg."""
    days: tuple[Annotated[int, BeforeValidator(_no_text_or_float), Field(ge=1, le=10)], ...] = (
        Field(min_length=1)
    )
    """The numbers of days the label allows the total to be split evenly over."""
    source: Provenance
    """'label' if the label prints this regimen, 'site' otherwise."""
    text: str = Field(min_length=1)
    """The regimen as the label prints it."""


class AgeLimit(DocumentedFrozen):
    """Who the label's indication is for, in completed years of age."""

    min_years: Annotated[int, BeforeValidator(_no_text_or_float), Field(ge=0, le=120)] | None = None
    """The youngest age (completed years) the label's indication covers, if it sets one."""
    max_years: Annotated[int, BeforeValidator(_no_text_or_float), Field(ge=0, le=120)] | None = None
    """The oldest age (completed years) the label's indication covers, if it sets one."""
    source: Provenance
    """'label' if the label prints this limit, 'site' otherwise."""
    text: str = Field(min_length=1)
    """The label's words, with where they are printed."""


class OffLabelProtocol(DocumentedFrozen):
    """Where an indication a site file added to a shipped product comes from (off-label).

    Never written in a file: the loader sets it when it merges a site indication file
    (`titrator.domain.site_indications`), from that file's id, version, digest and the
    indication's `protocol` table.
    """

    file_id: str
    """The site indication file's id (its file name without ``.toml``)."""
    file_version: str
    """The site indication file's version."""
    file_sha256: str
    """SHA-256 of the site indication file's bytes."""
    source: str
    """The published protocol the site follows, in words."""
    url: str
    """Where that protocol is published."""
    reason: str
    """Why and on whose authority the site gives it."""

    @property
    def marker(self) -> str:
        """'off-label: site protocol (SOURCE)', as every plan and log shows it."""
        return f"off-label: site protocol ({self.source})"


class Indication(DocumentedFrozen):
    """Label facts and the ramp for one indication."""

    name: str = Field(min_length=1)
    """The indication as the label names it."""
    dose: DoseRange
    initial_rate: LabelRate
    """The label's initial rate."""
    initial_duration_min: Minutes
    """Minimum minutes at the initial rate."""
    initial_duration_source: Provenance
    """Whether the label prints that duration."""
    step_interval_min: Minutes
    """Minimum minutes at each later step before the next increase."""
    step_interval_source: Provenance
    """Whether the label prints that interval."""
    max_rate: LabelRate
    """The label's maximum rate for this indication."""
    at_risk_cap: LabelRate | None = None
    """A numeric cap for patients at risk of renal dysfunction or thrombosis printed for this
    indication only; otherwise the product's `at_risk.cap` applies."""
    ladder: Ladder
    first_infusion: FirstInfusionRule
    notes: tuple[str, ...] = ()
    """Label notes a nurse should see with the plan."""
    courses: tuple[Course, ...] = ()
    """The courses (a total over several days) the label's regimen allows; none: single
    infusions only."""
    age: AgeLimit | None = None
    """The label's age limits for this indication; a plan with an age needs them."""
    site_protocol: SkipJsonSchema[OffLabelProtocol | None] = None
    """Set by the loader, never in a file: this indication is not on the label but added by a
    site indication file (an off-label site protocol)."""


class AtRisk(DocumentedFrozen):
    """What the label says for patients at risk of renal dysfunction or thrombosis."""

    text: str = Field(min_length=1)
    """The label's wording."""
    cap: LabelRate | None = None
    """The numeric cap, only where the label prints one."""


class Vials(DocumentedFrozen):
    """The vial sizes the product is supplied in (the label's "How Supplied")."""

    sizes_g: tuple[PositiveDecimal, ...] = Field(min_length=1)
    """Grams of IgG per vial, one entry per size supplied."""
    source: Provenance
    """'label' if read from the label's "How Supplied" section."""
    url: Annotated[str, AfterValidator(_url)]
    """Where the sizes were read."""
    text: str = Field(min_length=1)
    """The sizes as printed (volume and grams)."""


NDC_PATTERN = r"^(\d{4}-\d{4}-\d{2}|\d{5}-\d{3}-\d{2}|\d{5}-\d{4}-\d)$"
"""A 10-digit National Drug Code with its hyphens (4-4-2, 5-3-2 or 5-4-1), the form HL7 asks
for in the `http://hl7.org/fhir/sid/ndc` system (https://terminology.hl7.org/NDC.html)."""


class Codes(DocumentedFrozen):
    """The product's package codes, as its label (DailyMed SPL) lists them."""

    ndc: tuple[Annotated[str, Field(pattern=NDC_PATTERN)], ...] = Field(min_length=1)
    """Every package NDC of the product, 10 digits with hyphens, as printed."""
    url: Annotated[str, AfterValidator(_url)]
    """Where the codes were read (the DailyMed label)."""
    text: str = Field(min_length=1)
    """Which label, and when it was read."""


class IgaContraindication(DocumentedFrozen):
    """The label's contraindication for IgA deficiency with anti-IgA antibodies.

    With a history of hypersensitivity, such a patient is refused this product.
    """

    text: str = Field(min_length=1)
    """The label's words, as printed."""
    url: Annotated[str, AfterValidator(_url)]
    """Where they were read."""


Gtin = Annotated[str, Field(pattern=r"^\d{14}$")]
"""A GS1 GTIN-14 as the (01) element of a carton's barcode holds it."""


class Gtins(DocumentedFrozen):
    """Every GTIN printed on the product's cartons: a scanned GTIN not listed is refused."""

    values: tuple[Gtin, ...] = Field(min_length=1)
    """GTIN-14 of each pack (every vial size: a pack not listed is refused)."""
    url: Annotated[str, AfterValidator(_url)]
    """Where they were read."""
    text: str = Field(min_length=1)
    """The packs they belong to, as printed."""


class Source(DocumentedFrozen):
    """A document a product file's facts were taken from."""

    url: Annotated[str, AfterValidator(_url)]
    title: str = Field(min_length=1)
    accessed: date


class Product(DocumentedFrozen):
    """One IVIG product file."""

    schema_version: Literal[1]
    """The product-file format version."""
    id: Slug
    """Identifier; equals the file name without `.toml`."""
    version: str = Field(pattern=r"^\d{4}\.\d{2}\.\d{2}(\.\d+)?$")
    """Version of this file's content, YYYY.MM.DD[.N]; recorded with every plan."""
    name: str = Field(min_length=1)
    manufacturer: str = Field(min_length=1)
    concentration_mg_per_ml: PositiveDecimal
    """mg of IgG per mL; the only source of the concentration used in conversions."""
    stabiliser: str = Field(min_length=1)
    sugar: str = Field(min_length=1)
    """Sugar content ('none' if sugar free); maltose matters for some glucose meters."""
    iga_content: str = Field(min_length=1)
    label_date: date | None = None
    """Revision date of the label the rates come from, where it was captured."""
    label_revision: str = Field(min_length=1)
    """Which label the rates come from, and how they were verified."""
    sources: tuple[Source, ...] = Field(min_length=1)
    at_risk: AtRisk
    indications: dict[Slug, Indication] = Field(min_length=1)
    vials: Vials | None = None
    """The vial sizes supplied; needed to round a dose to whole vials."""
    iga_contraindication: IgaContraindication | None = None
    """The label's contraindication for IgA deficiency with anti-IgA antibodies and a history of
    hypersensitivity, where it was read and cited (None: not on file; the app then says so)."""
    gtins: Gtins | None = None
    """Cartons' GTINs cited as such. The GTINs made from the cited NDCs (`codes`) are accepted
    too (`titrator.domain.gtin`); with neither, a scanned GTIN cannot be checked."""
    codes: Codes | None = None
    """The package NDCs; exports code the medication with them (and with `gtins`)."""

    @property
    def concentration(self) -> Concentration:
        """The concentration as a typed quantity."""
        return Concentration(self.concentration_mg_per_ml)


# ---------------------------------------------------------------------------------------------
# Semantic rules.


def _exact(rate: WeightRate, conc: Concentration) -> Fraction:
    return rate.exact_ml_per_kg_h(conc)


def _ladder_problems(
    ladder: Ladder,
    path: str,
    initial: LabelRate,
    ceiling: WeightRate,
    conc: Concentration,
) -> list[Problem]:
    problems: list[Problem] = []
    rungs = ladder.weight_rates()
    if _exact(rungs[0], conc) != _exact(initial.weight_rate(), conc):
        problems.append(
            Problem(
                f"{path}.rates[0]",
                f"the ladder must start at the initial rate ({initial.value} {initial.unit})",
                f"{ladder.rates[0]} {ladder.unit}",
            )
        )
    for index in range(1, len(rungs)):
        if _exact(rungs[index], conc) <= _exact(rungs[index - 1], conc):
            problems.append(
                Problem(
                    f"{path}.rates[{index}]",
                    "ladder rates must increase strictly",
                    f"{ladder.rates[index]} {ladder.unit}",
                )
            )
    for index, rung in enumerate(rungs):
        if _exact(rung, conc) > _exact(ceiling, conc):
            problems.append(
                Problem(
                    f"{path}.rates[{index}]",
                    f"exceeds the maximum rate ({ceiling.value} {ceiling.unit})",
                    f"{ladder.rates[index]} {ladder.unit}",
                )
            )
    return problems


def _indication_problems(ind: Indication, path: str, conc: Concentration) -> list[Problem]:
    problems: list[Problem] = []
    max_rate = ind.max_rate.conservative(conc)
    initial = ind.initial_rate.weight_rate()
    if ind.dose.min_g_per_kg > ind.dose.max_g_per_kg:
        problems.append(
            Problem(
                f"{path}.dose.min_g_per_kg", "is above max_g_per_kg", str(ind.dose.min_g_per_kg)
            )
        )
    if ind.dose.max_g_per_kg > 3:
        problems.append(
            Problem(
                f"{path}.dose.max_g_per_kg",
                "no IVIG regimen gives more than 3 g/kg in one infusion",
                str(ind.dose.max_g_per_kg),
            )
        )
    if _exact(initial, conc) > _exact(max_rate, conc):
        problems.append(
            Problem(
                f"{path}.initial_rate.value",
                f"is above the maximum rate ({max_rate.value} {max_rate.unit})",
                f"{ind.initial_rate.value} {ind.initial_rate.unit}",
            )
        )
    for name, printed in (("initial_rate", ind.initial_rate), ("max_rate", ind.max_rate)):
        problems.extend(_unit_mismatch(printed, f"{path}.{name}", conc))
    problems.extend(
        _ladder_problems(ind.ladder, f"{path}.ladder", ind.initial_rate, max_rate, conc)
    )
    if ind.ladder.source is Provenance.LABEL and ind.step_interval_source is not Provenance.LABEL:
        problems.append(
            Problem(
                f"{path}.step_interval_source",
                "a label ladder needs the label's step interval",
                str(ind.step_interval_source),
            )
        )
    problems.extend(_first_infusion_problems(ind, f"{path}.first_infusion", max_rate, conc))
    if ind.at_risk_cap is not None:
        problems.extend(_unit_mismatch(ind.at_risk_cap, f"{path}.at_risk_cap", conc))
    return problems


def _first_infusion_problems(
    ind: Indication, here: str, max_rate: WeightRate, conc: Concentration
) -> list[Problem]:
    """A first infusion is never faster than a later one, and slower unless the label says not.

    Rung by rung, a first-infusion ladder is no higher than the usual ladder at the same step;
    its initial rate, maximum, initial duration and step interval are no faster either.
    """
    first = ind.first_infusion
    problems: list[Problem] = []
    initial = _exact(ind.initial_rate.weight_rate(), conc)
    start = first.initial_rate or ind.initial_rate
    first_initial = _exact(start.weight_rate(), conc)
    slower: list[bool] = []
    if first.initial_rate is not None:
        problems.extend(_unit_mismatch(first.initial_rate, f"{here}.initial_rate", conc))
        if first_initial > initial:
            problems.append(
                Problem(
                    f"{here}.initial_rate.value",
                    "a first-infusion initial rate cannot be above the indication's initial rate",
                    f"{first.initial_rate.value} {first.initial_rate.unit}",
                )
            )
        if first.ladder is None:
            problems.append(
                Problem(f"{here}.ladder", "a first-infusion initial rate needs its own ladder", "")
            )
        slower.append(first_initial < initial)
    ceiling = max_rate
    if first.max_rate is not None:
        first_max = first.max_rate.conservative(conc)
        if _exact(first_max, conc) > _exact(max_rate, conc):
            problems.append(
                Problem(
                    f"{here}.max_rate.value",
                    "a first-infusion maximum cannot exceed the indication's maximum",
                    f"{first.max_rate.value} {first.max_rate.unit}",
                )
            )
        if _exact(first_max, conc) < first_initial:
            problems.append(
                Problem(
                    f"{here}.max_rate.value",
                    "a first-infusion maximum cannot be below the initial rate",
                    f"{first.max_rate.value} {first.max_rate.unit}",
                )
            )
        ceiling = min(first_max, max_rate, key=lambda rate: _exact(rate, conc))
        slower.append(_exact(first_max, conc) < _exact(max_rate, conc))
    if first.ladder is not None:
        problems.extend(_ladder_problems(first.ladder, f"{here}.ladder", start, ceiling, conc))
        usual = [_exact(rung, conc) for rung in ind.ladder.weight_rates()]
        mine = [_exact(rung, conc) for rung in first.ladder.weight_rates()]
        for index, rung in enumerate(mine):
            if rung > usual[min(index, len(usual) - 1)]:
                problems.append(
                    Problem(
                        f"{here}.ladder.rates[{index}]",
                        "is above the usual ladder's rate at the same step",
                        f"{first.ladder.rates[index]} {first.ladder.unit}",
                    )
                )
        slower.append(mine != usual[: len(mine)] or len(mine) > len(usual))
    for name, value, usual_min in (
        ("step_interval_min", first.step_interval_min, ind.step_interval_min),
        ("initial_duration_min", first.initial_duration_min, ind.initial_duration_min),
    ):
        if value is None:
            continue
        if value < usual_min:
            problems.append(
                Problem(
                    f"{here}.{name}",
                    "a first infusion may not step up faster than a later one "
                    f"(at least {usual_min} min)",
                    str(value),
                )
            )
        slower.append(value > usual_min)
    if first.label_requires_same_ramp:
        if first.source is not Provenance.LABEL:
            problems.append(
                Problem(
                    f"{here}.label_requires_same_ramp",
                    "only the label can require the same ramp (set source = 'label')",
                    str(first.source),
                )
            )
        if any(slower):
            problems.append(
                Problem(
                    f"{here}.label_requires_same_ramp",
                    "says the ramp is the same, but the rule slows the first infusion",
                    "true",
                )
            )
    elif not any(slower):
        problems.append(
            Problem(
                here,
                "a first infusion must be slower than a later one (a lower maximum, a lower "
                "start, longer steps or a slower ladder) unless the label requires the same "
                "ramp (label_requires_same_ramp = true)",
                "nothing slower is set",
            )
        )
    return problems


def _unit_mismatch(rate: LabelRate, path: str, conc: Concentration) -> list[Problem]:
    """Two printed numbers for one rate must agree within 25 %.

    A larger gap is a typo or a swapped unit, not label rounding (the largest rounding gap in
    the shipped labels is Octagam 10%'s at-risk cap, 3.3 vs 3.0 mg/kg/min, 10 %).
    """
    if rate.also_printed is None:
        return []
    a = _exact(rate.weight_rate(), conc)
    b = _exact(rate.also_printed.weight_rate(), conc)
    if max(a, b) > min(a, b) * Fraction(5, 4):
        return [
            Problem(
                f"{path}.also_printed",
                f"does not match {rate.value} {rate.unit} (swapped or mistyped unit?)",
                f"{rate.also_printed.value} {rate.also_printed.unit}",
            )
        ]
    return []


def semantic_problems(product: Product) -> list[Problem]:
    """The rules a schema cannot express. An empty list means the product may be used."""
    conc = product.concentration
    problems: list[Problem] = []
    if product.concentration_mg_per_ml not in (Decimal(50), Decimal(100)):
        problems.append(
            Problem(
                "concentration_mg_per_ml",
                "IVIG products are 5 % (50 mg/mL) or 10 % (100 mg/mL)",
                str(product.concentration_mg_per_ml),
            )
        )
    if product.at_risk.cap is not None:
        problems.extend(_unit_mismatch(product.at_risk.cap, "at_risk.cap", conc))
    for ind_id, ind in product.indications.items():
        if ind.site_protocol is not None:
            problems.append(
                Problem(
                    f"indications.{ind_id}.site_protocol",
                    "is set by the loader, not written in a file: an off-label indication goes "
                    "in a site indication file (docs/admin/library.md)",
                    ind.site_protocol.file_id,
                )
            )
        problems.extend(_indication_problems(ind, f"indications.{ind_id}", conc))
        problems.extend(_dose_data_problems(ind, f"indications.{ind_id}"))
    return problems


def _dose_data_problems(ind: Indication, path: str) -> list[Problem]:
    """The dose data (ages, courses) in order: ages not reversed, no day count twice."""
    problems: list[Problem] = []
    age = ind.age
    if (
        age is not None
        and age.min_years is not None
        and age.max_years is not None
        and age.min_years > age.max_years
    ):
        problems.append(Problem(f"{path}.age.min_years", "is above max_years", str(age.min_years)))
    for index, course in enumerate(ind.courses):
        if len(set(course.days)) != len(course.days):
            problems.append(
                Problem(
                    f"{path}.courses[{index}].days",
                    "lists a number of days twice",
                    str(course.days),
                )
            )
    return problems


def indication_problems(ind: Indication, path: str, conc: Concentration) -> list[Problem]:
    """The semantic rules of one indication at `path` (ladder, first infusion, doses, ages)."""
    return [*_indication_problems(ind, path, conc), *_dose_data_problems(ind, path)]
