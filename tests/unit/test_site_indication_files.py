"""Site indication files on disk: loaded from a `--library` directory, merged, or refused in one
line naming the file, the field and the value (issue 14 item 6)."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import pytest

from titrator.cli.main import main
from titrator.domain.site_indications import SiteIndicationFile
from titrator.files.library import LibraryFileError, load_library, protocols_dir

EXAMPLE = protocols_dir() / "site-examples" / "kawasaki-privigen.toml"
ROOT = Path(__file__).resolve().parents[2]


def site_dir(tmp_path: Path, text: str | None = None, name: str = "kawasaki-privigen") -> Path:
    """A library directory holding the example (or `text` as `name`.toml)."""
    directory = tmp_path / "site"
    directory.mkdir(exist_ok=True)
    if text is None:
        shutil.copy(EXAMPLE, directory / f"{name}.toml")
    else:
        (directory / f"{name}.toml").write_text(text, encoding="utf-8")
    return directory


def edited(old: str, new: str) -> str:
    text = EXAMPLE.read_text(encoding="utf-8")
    assert old in text, old
    return text.replace(old, new, 1)


def refusal(directory: Path) -> list[str]:
    with pytest.raises(LibraryFileError) as caught:
        load_library([directory])
    return caught.value.lines()


def test_the_example_is_not_loaded_by_default() -> None:
    library = load_library()
    assert "kawasaki" not in library.product("privigen").indications
    assert library.site_files == {}


def test_a_library_directory_merges_the_site_file_into_the_shipped_product(
    tmp_path: Path,
) -> None:
    directory = site_dir(tmp_path)
    library = load_library([directory])
    privigen = library.product("privigen")
    assert list(privigen.indications) == ["pi", "itp", "cidp", "kawasaki"]
    protocol = privigen.indications["kawasaki"].site_protocol
    assert protocol is not None
    assert protocol.file_id == "kawasaki-privigen"
    assert len(protocol.file_sha256) == 64
    assert library.site_files == {"privigen": (directory / "kawasaki-privigen.toml",)}
    # The product file and its digest are still the shipped ones; other products are untouched.
    assert library.files["privigen"].parent == protocols_dir() / "products"
    assert library.sha256["privigen"] == load_library().sha256["privigen"]
    assert library.product("gamunex-c") == load_library().product("gamunex-c")


def test_a_maximum_above_the_label_maximum_is_one_line_naming_file_field_and_value(
    tmp_path: Path,
) -> None:
    text = edited(
        'max_rate = { value = 4, unit = "mg/kg/min", also_printed = { value = 0.04, '
        'unit = "mL/kg/min" } }',
        'max_rate = { value = 10, unit = "mg/kg/min" }',
    )
    directory = site_dir(tmp_path, text)
    lines = refusal(directory)
    assert lines == [
        f"{directory / 'kawasaki-privigen.toml'}: indications.kawasaki.max_rate.value: is above "
        "the Privigen label's maximum rate (8 mg/kg/min); a site protocol may not run faster "
        "than the label allows (got 10 mg/kg/min)"
    ]


def test_a_clash_with_a_shipped_indication_id_is_refused(tmp_path: Path) -> None:
    text = edited("[indications.kawasaki]", "[indications.itp]").replace(
        "[indications.kawasaki.", "[indications.itp."
    )
    directory = site_dir(tmp_path, text)
    lines = refusal(directory)
    assert len(lines) == 1
    assert lines[0].startswith(f"{directory / 'kawasaki-privigen.toml'}: indications.itp: ")
    assert "Privigen already has this indication (the Privigen label)" in lines[0]
    assert lines[0].endswith("(got itp)")


def test_an_unknown_product_is_named(tmp_path: Path) -> None:
    directory = site_dir(tmp_path, edited('product = "privigen"', 'product = "privigenn"'))
    [line] = refusal(directory)
    assert ": product: no such product in the library; known: asceniv, " in line
    assert line.endswith("(got privigenn)")


def test_the_id_must_be_the_file_name(tmp_path: Path) -> None:
    directory = site_dir(tmp_path, name="kawasaki")
    [line] = refusal(directory)
    assert line.endswith("id: must match the file name 'kawasaki' (got kawasaki-privigen)")


def test_an_unknown_key_in_the_protocol_table_gets_a_did_you_mean(tmp_path: Path) -> None:
    directory = site_dir(tmp_path, edited("reason = ", "reasons = "))
    lines = refusal(directory)
    assert any(
        "indications.kawasaki.protocol.reasons: unknown key; did you mean 'reason'?" in line
        for line in lines
    ), lines


def test_protocols_validate_checks_a_site_file_against_its_product(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.delenv("TITRATOR_CONFIG", raising=False)
    assert main(["protocols", "validate", str(EXAMPLE)]) == 0
    assert capsys.readouterr().out == (
        f"{EXAMPLE}: ok (adds 1 off-label indications to Privigen)\n"
    )
    bad = (
        site_dir(
            tmp_path,
            edited("[indications.kawasaki]", "[indications.pi]").replace(
                "[indications.kawasaki.", "[indications.pi."
            ),
        )
        / "kawasaki-privigen.toml"
    )
    assert main(["protocols", "validate", str(bad)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 1
    assert out[0].startswith(f"{bad}: indications.pi: Privigen already has this indication")


def test_the_site_file_schema_is_current() -> None:
    spec = importlib.util.spec_from_file_location(
        "write_schemas", ROOT / "scripts" / "write_schemas.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    committed = (protocols_dir() / "site-examples" / "schema.json").read_text(encoding="utf-8")
    assert committed == module.render(SiteIndicationFile)
