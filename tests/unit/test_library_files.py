"""The product library: every shipped file validates; every broken file is refused by field."""

import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from tests.support.paths import ROOT
from titrator.domain.library import Provenance
from titrator.domain.units import Concentration, RateUnit
from titrator.files.library import (
    LibraryFileError,
    load_library,
    load_product_file,
    protocols_dir,
)

BAD = ROOT / "tests" / "data" / "products" / "bad"
GOOD = ROOT / "tests" / "data" / "products" / "good"

EXPECTED_PRODUCTS = {
    "privigen": {"pi", "itp", "cidp"},
    "gammagard-liquid": {"pi", "mmn", "cidp"},
    "octagam-5": {"pi"},
    "octagam-10": {"itp", "dermatomyositis"},
    "gamunex-c": {"pi", "itp", "cidp"},
    "flebogamma-5-dif": {"pi"},
    "flebogamma-10-dif": {"pi", "itp"},
    "bivigam": {"pi"},
    "panzyga": {"pi", "itp", "cidp"},
    "asceniv": {"pi"},
    "gammaplex-5": {"pi", "itp"},
    "gammaplex-10": {"pi", "itp"},
    "qivigy": {"pi"},
}


def test_the_shipped_library_has_every_verified_product_and_indication() -> None:
    library = load_library()
    assert {pid: set(p.indications) for pid, p in library.products.items()} == EXPECTED_PRODUCTS
    assert all(len(digest) == 64 for digest in library.sha256.values())


@pytest.mark.parametrize("path", sorted((protocols_dir() / "products").glob("*.toml")), ids=str)
def test_every_shipped_product_file_validates(path: Path) -> None:
    product = load_product_file(path)
    assert product.sources, "every product cites its sources"


def _rates(product_id: str, indication: str) -> list[Decimal]:
    ladder = load_library().product(product_id).indications[indication].ladder
    return list(ladder.rates)


def test_label_ladders_are_encoded_exactly() -> None:
    library = load_library()
    octagam = library.product("octagam-10").indications["itp"]
    assert octagam.ladder.source is Provenance.LABEL
    assert _rates("octagam-10", "itp") == [1, 2, 4, 8, 12]
    assert octagam.step_interval_min == 30
    bivigam = library.product("bivigam").indications["pi"]
    assert bivigam.ladder.source is Provenance.LABEL
    rates = _rates("bivigam", "pi")
    assert rates[:-1] == [Decimal("0.5") + Decimal("0.8") * k for k in range(7)]
    assert rates[-1] == 6
    assert (bivigam.initial_duration_min, bivigam.step_interval_min) == (10, 20)
    gammagard = library.product("gammagard-liquid").indications["pi"]
    # The label prints no step size: the rungs come from the manufacturer's calculator.
    assert gammagard.ladder.source is Provenance.SITE
    assert gammagard.ladder.unit is RateUnit.ML_PER_KG_H
    assert gammagard.ladder.rates[0] == Decimal("0.5")
    assert (gammagard.initial_duration_min, gammagard.step_interval_min) == (30, 30)


def test_unprinted_ladders_are_site_ladders_within_the_label_limits() -> None:
    for product in load_library().products.values():
        conc = product.concentration
        for ind in product.indications.values():
            rungs = ind.ladder.weight_rates()
            assert rungs[0].exact_ml_per_kg_h(
                conc
            ) == ind.initial_rate.weight_rate().exact_ml_per_kg_h(conc)
            top = ind.max_rate.conservative(conc).exact_ml_per_kg_h(conc)
            assert all(r.exact_ml_per_kg_h(conc) <= top for r in rungs)
            if ind.ladder.source is Provenance.SITE:
                assert ind.ladder.note


def test_where_printed_units_disagree_the_conservative_cap_applies() -> None:
    library = load_library()
    octagam10 = library.product("octagam-10")
    assert octagam10.at_risk.cap is not None
    conc = octagam10.concentration
    # 3.3 mg/kg/min vs 0.03 mL/kg/min (= 3.0 mg/kg/min): 3.0 applies.
    assert octagam10.at_risk.cap.conservative(conc).mg_per_kg_min(conc) == Decimal(3)
    gammagard = library.product("gammagard-liquid")
    ggc = gammagard.concentration
    # 5 mL/kg/h (= 8.33 mg/kg/min) vs 8 mg/kg/min: 8 applies.
    assert gammagard.indications["pi"].max_rate.conservative(ggc).mg_per_kg_min(ggc) == 8
    panzyga = library.product("panzyga")
    assert panzyga.at_risk.cap is not None
    assert panzyga.at_risk.cap.conservative(panzyga.concentration).value == Decimal("3.3")


def test_only_labels_with_a_printed_number_carry_an_at_risk_cap() -> None:
    with_cap = {pid for pid, p in load_library().products.items() if p.at_risk.cap is not None}
    assert with_cap == {"octagam-5", "octagam-10", "panzyga"}


def test_concentration_comes_from_the_library() -> None:
    library = load_library()
    assert library.product("octagam-5").concentration == Concentration(Decimal(50))
    assert library.product("privigen").concentration == Concentration(Decimal(100))


def _expectation(path: Path) -> tuple[str, str]:
    if path.name == "bad-empty.toml":
        return "", "file is empty"
    header = path.read_bytes().removeprefix(b"\xef\xbb\xbf").decode().splitlines()
    fields = dict(line[2:].split(": ", 1) for line in header[:3])
    return fields.get("expect-path", ""), fields["expect-message"]


BAD_FILES = sorted(BAD.glob("*.toml"))


def test_the_broken_corpus_is_large_enough() -> None:
    assert len(BAD_FILES) >= 30


@pytest.mark.parametrize("path", BAD_FILES, ids=lambda p: p.stem)
def test_each_broken_file_is_refused_naming_the_file_and_field(path: Path) -> None:
    expected_path, expected_message = _expectation(path)
    with pytest.raises(LibraryFileError) as caught:
        load_product_file(path)
    error = caught.value
    assert error.path == path
    matching = [p for p in error.problems if p.path == expected_path]
    assert matching, f"no problem at {expected_path!r}: {error.lines()}"
    assert any(expected_message in p.message for p in matching), error.lines()
    for line in error.lines():
        assert line.startswith(str(path))


def test_a_problem_line_names_file_field_and_value() -> None:
    path = BAD / "bad-negative-initial.toml"
    with pytest.raises(LibraryFileError) as caught:
        load_product_file(path)
    line = caught.value.lines()[0]
    assert line.startswith(f"{path}: indications.pi.initial_rate.value: ")
    assert "-0.5" in line


def test_a_site_directory_adds_products_with_the_same_validation(tmp_path: Path) -> None:
    library = load_library([GOOD])
    assert "site-product" in library.products
    assert "privigen" in library.products
    (tmp_path / "bad-negative-initial.toml").write_bytes(
        (BAD / "bad-negative-initial.toml").read_bytes()
    )
    with pytest.raises(LibraryFileError):
        load_library([tmp_path])


def test_a_product_defined_twice_is_refused(tmp_path: Path) -> None:
    shipped = protocols_dir() / "products" / "privigen.toml"
    (tmp_path / "privigen.toml").write_bytes(shipped.read_bytes())
    with pytest.raises(LibraryFileError) as caught:
        load_library([tmp_path])
    assert "already defined" in str(caught.value)


def test_a_missing_site_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(LibraryFileError) as caught:
        load_library([tmp_path / "nope"])
    assert "does not exist" in str(caught.value)


def test_the_committed_json_schema_is_current() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "write_schemas.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout
