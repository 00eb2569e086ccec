"""A scanned lot: a GS1 barcode string read into GTIN, lot and expiry, and checked.

A keyboard-wedge scanner types what the barcode holds. A GS1 DataMatrix or GS1-128 string holds
application identifiers (AI): (01) the GTIN, (17) the expiry date YYMMDD and (10) the lot, with
the symbology prefix ``]d2`` (DataMatrix) or ``]C1`` (GS1-128) when the scanner sends it and the
FNC1 separator as the GS character (chr(29)) after a variable-length field. The parsing is the
established library's (biip), not ours; this module only says what the nurse may rely on:

- the chosen product's GTINs are those its cited NDCs make (`titrator.domain.gtin`: a US
  drug's GTIN-14 embeds its NDC after the packaging indicator and ``03``), at any packaging
  level (indicator 0, the unit of sale, or 1-8, a case or bundle of the same packages), plus
  any GTINs its file lists;
- a GTIN that holds another product's NDC is refused, naming both products; a GTIN that holds
  an NDC not on file for a product whose file cites its NDCs is refused too (the file lists
  every package NDC); a listed GTIN list refuses every other GTIN;
- a GTIN that holds no US NDC (a GS1 prefix other than ``03`` after the indicator) for a
  product whose file lists no GTIN cannot be checked: the scan says so, and the record keeps
  ``gtin_check = "not_on_file"`` (never a silent match);
- a lot whose expiry date is before the session's date is refused (the date is passed in).

Pure: no clock is read; the session's date is an argument.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date
from enum import StrEnum
from typing import TYPE_CHECKING, Final

from pydantic import BaseModel, ConfigDict

from titrator.domain.gtin import ndc_digits, ndc_in_gtin
from titrator.domain.library import Product

if TYPE_CHECKING:
    from biip.gs1_messages import GS1Message

GS: Final = "\x1d"
"""The FNC1 separator as a scanner types it (ASCII group separator)."""
SYMBOLOGY_PREFIXES: Final = ("]d2", "]C1", "]Q3", "]e0")
"""AIM symbology identifiers of GS1 DataMatrix, GS1-128, GS1 QR and GS1 DataBar."""
_UNPREFIXED_GS1: Final = re.compile(r"^01\d{14}(17\d{6})?10\S+$|^01\d{14}17\d{6}(10\S+)?$")
"""A scan without a prefix: (01) first, then (17) and/or (10), as printed on IVIG cartons."""


class LotScanError(ValueError):
    """The text looks like a GS1 scan but cannot be used; `reason` says why in plain words."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class GtinCheck(StrEnum):
    """What the scanned GTIN was checked against."""

    MATCHED = "matched"
    """The GTIN is one of the chosen product's: it holds one of the NDCs its file cites, or its
    file lists it."""
    NOT_ON_FILE = "not_on_file"
    """The GTIN holds no NDC on file and the product's file lists no GTIN: the scan could not
    be checked against the product."""


class LotScan(BaseModel):
    """What a GS1 barcode string says about the container being hung."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    raw: str
    """The text as the scanner typed it (the GS separator kept)."""
    gtin: str
    """AI (01), 14 digits."""
    lot: str
    """AI (10), the lot (batch) number."""
    expiry: date | None
    """AI (17); None when the barcode holds no expiry date."""


def looks_like_gs1(text: str) -> bool:
    """True when `text` is meant as a GS1 barcode string rather than a typed lot number."""
    stripped = text.strip()
    if stripped.startswith(SYMBOLOGY_PREFIXES) or GS in stripped or stripped.startswith("(01)"):
        return True
    return bool(_UNPREFIXED_GS1.match(stripped))


def parse_lot_scan(text: str) -> LotScan:
    """Read a GS1 barcode string (DataMatrix, GS1-128, or the printed "(01)..." form).

    Raises:
        LotScanError: when it holds no GTIN (01) or no lot (10), or cannot be parsed.
    """
    # biip loads on the first scan: its GS1 prefix tables take about 50 ms to import, and
    # the app's first screen must not wait for them (issue 17, start-up).
    from biip import ParseConfig, ParseError, parse
    from biip.gs1_messages import GS1Message

    stripped = text.strip()
    error_text = ""
    try:
        if stripped.startswith("(01)"):
            message: GS1Message | None = GS1Message.parse_hri(stripped)
        else:
            result = parse(stripped, config=ParseConfig(separator_chars=(GS,)))
            message, error_text = result.gs1_message, result.gs1_message_error or ""
    except ParseError as error:
        message, error_text = None, str(error)
    if message is None:
        detail = f" ({_first_line(error_text)})" if error_text else ""
        raise LotScanError(f"not a readable GS1 barcode{detail}")
    values = {element.ai.ai: element for element in message.element_strings}
    if "01" not in values:
        raise LotScanError("the barcode holds no GTIN (01)")
    gtin_error = values["01"].gtin_error
    if gtin_error:  # biip reads the element but checks the check digit apart
        raise LotScanError(f"the GTIN (01) is misread ({_first_line(gtin_error)})")
    if "10" not in values:
        raise LotScanError("the barcode holds no lot number (10)")
    expiry = values["17"].date if "17" in values else None
    return LotScan(raw=text, gtin=values["01"].value, lot=values["10"].value, expiry=expiry)


def _first_line(text: str) -> str:
    return text.splitlines()[0] if text else text


def gtin_check(product: Product, gtin: str, others: Iterable[Product] = ()) -> GtinCheck:
    """Check a scanned GTIN against the chosen product's GTINs.

    Args:
        product: the chosen product.
        gtin: the scanned (01) element.
        others: the library's products, to name the product whose NDC the GTIN holds.

    Raises:
        LotScanError: when the GTIN holds another product's NDC, an NDC not on file for a
            product whose NDCs are on file, or is not listed where the file lists GTINs.
    """
    listed = product.gtins.values if product.gtins is not None else ()
    if gtin in listed:
        return GtinCheck.MATCHED
    try:
        ndc = ndc_in_gtin(gtin)
    except ValueError as error:
        raise LotScanError(f"the GTIN (01) is misread ({_first_line(str(error))})") from error
    if ndc is not None:
        if _ndc_as_printed(product, ndc) is not None:
            return GtinCheck.MATCHED
        for other in others:
            printed = _ndc_as_printed(other, ndc) if other.id != product.id else None
            if printed is not None:
                raise LotScanError(
                    f"GTIN {gtin} is {other.name}'s (NDC {printed}), not {product.name}'s:"
                    " wrong product"
                )
        if product.codes is not None:
            raise LotScanError(
                f"GTIN {gtin} holds NDC {ndc}, not one of {product.name}'s NDCs on file:"
                " wrong product or a pack not on file"
            )
    if product.gtins is not None:
        raise LotScanError(
            f"GTIN {gtin} is not {product.name}'s (its GTINs: {', '.join(listed)}):"
            " wrong product or a pack not on file"
        )
    return GtinCheck.NOT_ON_FILE


def _ndc_as_printed(product: Product, digits: str) -> str | None:
    """The product's NDC (with its hyphens) whose digits are `digits`, if it cites one."""
    if product.codes is None:
        return None
    return next((ndc for ndc in product.codes.ndc if ndc_digits(ndc) == digits), None)


def gtin_check_text(product: Product, check: GtinCheck) -> str:
    """The words the nurse sees about the GTIN check (recorded with the scan)."""
    if check is GtinCheck.MATCHED:
        return f"GTIN checked: it is {product.name}'s"
    if product.codes is not None:
        return (
            f"GTIN cannot be checked: it holds no US NDC and no GTIN is on file for"
            f" {product.name}; check the product name on the carton"
        )
    return (
        f"GTIN cannot be checked: no GTIN on file for {product.name}; check the product name"
        " on the carton"
    )


def expiry_problem(expiry: date, today: date) -> str | None:
    """Why a lot with this expiry date may not be used on `today` (None: it may).

    A lot may be used up to and including its expiry date; from the next day it is expired.
    """
    if expiry < today:
        return f"expired on {expiry.isoformat()} (today is {today.isoformat()})"
    return None
