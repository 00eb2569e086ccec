"""Site indication files: a site adds an off-label indication to a product of the library.

A site indication file (in a ``--library`` directory, told apart from a product file by its
top-level ``product`` key) adds one or more indications, each with its dose range, regimen, ramp
and first-infusion rule, to a product the library already holds (Kawasaki disease, myasthenia
gravis, Guillain-Barré syndrome ...). Each carries a ``protocol`` table naming the published
protocol the site follows and why. The rules (`site_file_problems`):

- an indication id the product already has is refused (a site never replaces a label
  indication);
- the maximum rate is never above the product's label maximum rate (`label_max_rate`: the
  highest maximum the label prints for any of its indications); the ladder and the
  first-infusion rule are held under that maximum by the product-file rules;
- nothing in it is marked ``label``: the label does not print an off-label indication.

`merge` returns the product with the indications added, each marked with an `OffLabelProtocol`
so that every plan and log of it says "off-label: site protocol" with its source.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from titrator.domain.library import (
    Indication,
    OffLabelProtocol,
    PrintedRate,
    Product,
    Provenance,
    Slug,
    Source,
    Url,
    indication_problems,
)
from titrator.domain.model import DocumentedFrozen
from titrator.domain.plan_model import OffLabel
from titrator.domain.units import WeightRate
from titrator.domain.validation_errors import Problem


class SiteProtocol(DocumentedFrozen):
    """The published protocol a site indication follows, and why the site gives it."""

    source: str = Field(min_length=1, max_length=200)
    """The protocol in words (authors, title, journal, year), shown with every plan."""
    url: Url
    """Where it is published."""
    reason: str = Field(min_length=1)
    """Why the site gives this indication off-label, and on whose authority."""


class SiteIndication(Indication):
    """An indication as a site file writes it: the product-file fields and its `protocol`."""

    protocol: SiteProtocol
    """The published protocol this indication follows."""


class SiteIndicationFile(DocumentedFrozen):
    """One site indication file: off-label indications added to one product of the library."""

    schema_version: Literal[1]
    """The site-indication-file format version."""
    id: Slug
    """Identifier; equals the file name without `.toml`."""
    version: str = Field(pattern=r"^\d{4}\.\d{2}\.\d{2}(\.\d+)?$")
    """Version of this file's content, YYYY.MM.DD[.N]; recorded with every plan."""
    product: Slug
    """The id of the product the indications are added to (for example ``privigen``)."""
    sources: tuple[Source, ...] = Field(min_length=1)
    """The documents the indications' numbers come from."""
    indications: dict[Slug, SiteIndication] = Field(min_length=1)
    """The indications added, by id (an id the product already has is refused)."""


def label_max_rate(product: Product) -> WeightRate:
    """The product's label maximum rate: the highest maximum printed for a label indication.

    Where a label rate is printed in two units the more conservative one counts (as for every
    limit). Indications added by site files do not count.
    """
    conc = product.concentration
    rates = [
        ind.max_rate.conservative(conc)
        for ind in product.indications.values()
        if ind.site_protocol is None
    ]
    return max(rates, key=lambda rate: rate.exact_ml_per_kg_h(conc))


def _provenance_problems(ind: SiteIndication, path: str) -> list[Problem]:
    """Nothing of an off-label indication is printed in the label: every source is 'site'."""
    found: list[tuple[str, Provenance]] = [
        ("ladder.source", ind.ladder.source),
        ("first_infusion.source", ind.first_infusion.source),
        *((f"courses[{i}].source", c.source) for i, c in enumerate(ind.courses)),
    ]
    if ind.age is not None:
        found.append(("age.source", ind.age.source))
    return [
        Problem(
            f"{path}.{name}",
            "the label prints nothing for an off-label indication: use 'site' and cite the "
            "protocol",
            str(source),
        )
        for name, source in found
        if source is Provenance.LABEL
    ]


def site_file_problems(site: SiteIndicationFile, product: Product) -> list[Problem]:
    """The rules a schema cannot express for `site` added to `product` (empty: may be used)."""
    conc = product.concentration
    problems: list[Problem] = []
    ceiling = label_max_rate(product)
    for ind_id, ind in site.indications.items():
        path = f"indications.{ind_id}"
        existing = product.indications.get(ind_id)
        if existing is not None:
            whose = (
                f"site file {existing.site_protocol.file_id!r}"
                if existing.site_protocol is not None
                else f"the {product.name} label"
            )
            problems.append(
                Problem(
                    path,
                    f"{product.name} already has this indication ({whose}); a site file adds "
                    "indications, it never replaces one: choose another id",
                    ind_id,
                )
            )
        if ind.site_protocol is not None:
            problems.append(
                Problem(
                    f"{path}.site_protocol",
                    "is set by the loader, not written in a file: write the 'protocol' table",
                    ind.site_protocol.file_id,
                )
            )
        printed: list[tuple[str, PrintedRate]] = [("max_rate.value", ind.max_rate)]
        if ind.max_rate.also_printed is not None:
            printed.append(("max_rate.also_printed.value", ind.max_rate.also_printed))
        for name, rate in printed:  # every number it prints, not only the conservative one
            if rate.weight_rate().exact_ml_per_kg_h(conc) > ceiling.exact_ml_per_kg_h(conc):
                problems.append(
                    Problem(
                        f"{path}.{name}",
                        f"is above the {product.name} label's maximum rate "
                        f"({ceiling.value} {ceiling.unit}); a site protocol may not run faster "
                        "than the label allows",
                        f"{rate.value} {rate.unit}",
                    )
                )
        problems.extend(_provenance_problems(ind, path))
        problems.extend(indication_problems(ind, path, conc))
    return problems


def merge(product: Product, site: SiteIndicationFile, sha256: str) -> Product:
    """`product` with the site file's indications added, each marked as an off-label protocol.

    The caller has checked `site_file_problems` (an id clash would replace an indication).
    """
    added: dict[str, Indication] = {}
    for ind_id, ind in site.indications.items():
        fields = {name: getattr(ind, name) for name in Indication.model_fields}
        fields["site_protocol"] = OffLabelProtocol(
            file_id=site.id,
            file_version=site.version,
            file_sha256=sha256,
            source=ind.protocol.source,
            url=ind.protocol.url,
            reason=ind.protocol.reason,
        )
        added[ind_id] = Indication(**fields)
    return product.model_copy(update={"indications": {**product.indications, **added}})


def off_label_of(ind: Indication) -> OffLabel | None:
    """The off-label marker for a plan of `ind` (None for a label indication)."""
    protocol = ind.site_protocol
    if protocol is None:
        return None
    return OffLabel(
        source=protocol.source,
        url=protocol.url,
        reason=protocol.reason,
        file_id=protocol.file_id,
        file_version=protocol.file_version,
        file_sha256=protocol.file_sha256,
    )


def indication_label(ind: Indication) -> str:
    """The indication's name as a list shows it: a site protocol's says it is off-label."""
    if ind.site_protocol is None:
        return ind.name
    return f"{ind.name} (off-label: site protocol)"
