"""The GS1 GTIN that a US drug's NDC makes, and the NDC that a scanned GTIN holds.

A US prescription drug's GS1 barcode identifies the package by a GTIN-14 that embeds its
10-digit National Drug Code (NDC). The rule, in the words of the sources:

- the GTIN-14 "for a U.S. drug product is composed of four parts totaling exactly 14 digits: A
  1-digit Packaging Indicator (values 1 through 8 depending on the packaging hierarchy); The
  fixed GS1 pharmaceutical prefix 03 (2 digits) — the 0 is the standard GTIN-12 to GTIN-14
  expansion, and the 3 is the UPC Number System Character reserved for NDC products; The NDC-10
  (10 digits) — the raw 10-digit NDC with hyphens removed; A 1-digit Check Digit, calculated
  using the GS1 Modulo 10 algorithm" (K. Wolf, "From NDC-10 to GTIN-14: What You Need to Know",
  2025, corrected March 2026, https://wolfienet.com/2025/translating-nds-to-gtin-what-you-need-to-know
  , read 2026-12-06);
- the UPC form (GTIN-12): "The 10-digit NDC identifiers are converted to barcodes by adding
  '3' in the beginning and a check digit at the end"
  (https://boxshot.com/barcode/tutorials/ndc-barcodes/ , read 2026-12-06); the GTIN-14 of the
  unit of sale is that GTIN-12 with two leading zeros ("The 14-digit UPC is simply two zeros
  and a 3 in front of the NDC", https://www.222health.com/healthcare-industry/general-healthcare-industry/84198.html
  , read 2026-12-06). A leading zero does not change a GS1 check digit, so the GTIN-12's check
  digit is the GTIN-14's;
- the packaging indicator: "For unit level, use prefix '0' (zero); For a bundle level, use
  prefix '2' or '3'; For a case level, use prefix '5'" (LSPedia, "How to generate GTINs",
  https://support.lspedia.com/support/solutions/articles/73000629732-how-to-generate-gtins ,
  read 2026-12-06); the GTIN of a grouping keeps the NDC of the units inside: "the NDC as
  embedded in the GTIN, and for these purposes the 10-digit format is always used. The GTIN
  uniquely identifies not only the individual sale unit of packaging but also higher-level
  groupings such as homogeneous cases, homogeneous pallets, etc." and "The NDC only identifies
  the drug itself and does not distinguish between the individual sale unit and higher-level
  groupings" (TrustMed, "GTIN Frequently Asked Questions", https://trust.med/gtin-faq/ , read
  2026-12-06); companies "can begin using a related but distinct GTIN-14 to identify their
  homogenous cases" by "using the 'Indicator Digit' of the GTIN-14 instead" (RxTrace, "How To
  Properly Define GTINs For Your NDCs", 2017,
  https://www.rxtrace.com/2017/03/how-to-properly-define-gtins-for-your-ndcs.html/ ).

The industry documents behind these are the HDA "Guidelines for Bar Coding in the
Pharmaceutical Supply Chain" (Healthcare Distribution Alliance, revised November 2017; its
summary says it "outlines the interaction between the NDC, FDA bar code rule, and DSCSA, and
more closely aligns with GS1",
https://www.hda.org/resources/hda-guidelines-for-bar-coding-in-the-pharmaceutical-supply-chain
) and GS1 US "Implementation Guideline: Applying GS1 Standards for DSCSA and Traceability"
(release 1.2, 2016, section 4.3 "Integrating NDCs into GTINs"); the stored copies of both
(docslib.org, readkong.com) could be read only up to their title and contents pages, so the
words quoted above are the secondary sources'.

Wolf numbers the indicator 1 to 8 only; the unit of sale whose barcode carries the GTIN-12 has
indicator 0 once padded to 14 digits (LSPedia, 222health above), so 0 to 8 are all accepted.

What follows from it here:

- the unit of sale's GTIN of each NDC is ``0`` + ``03`` + the 10 NDC digits + the GS1 check
  digit (`gtin_from_ndc`); a grouping of the same packages (indicator 1 to 8) keeps the NDC;
- a GTIN whose indicator is 0 to 8 and whose next two digits are ``03`` holds an NDC
  (`ndc_in_gtin`); indicator 9 is a variable-measure item, never a drug package, and any other
  GS1 prefix holds no US NDC.

The check digit and the parsing of a GTIN are the established library's (biip), not ours. biip
is imported on first use, as in `lot_scan` (its GS1 prefix tables slow the app's start-up).

Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

NDC_DIGITS: Final = 10
"""Digits of an NDC without its hyphens (4-4-2, 5-3-2 or 5-4-1)."""
US_DRUG_PREFIX: Final = "03"
"""After the indicator: the GTIN-12 expansion zero and the UPC number system character 3."""
UNIT_OF_SALE: Final = 0
"""The packaging indicator of the unit of sale (the GTIN-12 padded to 14 digits)."""
GROUPING_INDICATORS: Final = range(1, 9)
"""Indicators 1 to 8: packaging levels above the unit (bundles, cases)."""


def ndc_digits(ndc: str) -> str:
    """The 10 digits of an NDC as printed with hyphens (``44206-436-05`` -> ``4420643605``).

    Raises:
        ValueError: when it is not 10 digits once the hyphens are removed.
    """
    digits = ndc.replace("-", "")
    if len(digits) != NDC_DIGITS or not digits.isascii() or not digits.isdecimal():
        raise ValueError(f"not a 10-digit NDC: {ndc!r}")
    return digits


def gtin_from_ndc(ndc: str, indicator: int = UNIT_OF_SALE) -> str:
    """The GTIN-14 of `ndc` at a packaging level: indicator, ``03``, the NDC, check digit.

    Raises:
        ValueError: for an indicator outside 0-8 or a string that is not a 10-digit NDC.
    """
    from biip.checksums import gs1_standard_check_digit

    if indicator != UNIT_OF_SALE and indicator not in GROUPING_INDICATORS:
        raise ValueError(f"packaging indicator must be 0 to 8 (got {indicator})")
    payload = f"{indicator}{US_DRUG_PREFIX}{ndc_digits(ndc)}"
    return f"{payload}{gs1_standard_check_digit(payload)}"


def gtins_from_ndcs(ndcs: Iterable[str]) -> tuple[str, ...]:
    """The unit-of-sale GTIN-14 of each NDC, in order, without repeats."""
    return tuple(dict.fromkeys(gtin_from_ndc(ndc) for ndc in ndcs))


def ndc_in_gtin(gtin: str) -> str | None:
    """The 10 NDC digits a GTIN holds, or None when it holds no US NDC.

    A GTIN-8, -12, -13 or -14 is read as a GTIN-14 (leading zeros added, as GS1 pads them).

    Raises:
        ValueError: when `gtin` is not a GTIN (length, digits or check digit, as biip says).
    """
    from biip import ParseError
    from biip.gtin import Gtin

    try:
        parsed = Gtin.parse(gtin)
    except ParseError as error:
        raise ValueError(str(error)) from error
    full = parsed.as_gtin_14()
    indicator, prefix = int(full[0]), full[1:3]
    if prefix != US_DRUG_PREFIX or not (
        indicator == UNIT_OF_SALE or indicator in GROUPING_INDICATORS
    ):
        return None
    return full[3 : 3 + NDC_DIGITS]
