"""`titrator plan` reads and checks only the product it plans for (issue 17: plan start-up).

`load_product` gives the same product, file, digest and site indication files as `load_library`
for every shipped product, with and without a site directory; the CLI's plan parses only that
product's file and the site files that extend it, while `protocols list` still loads and
checks every file.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from titrator.cli.main import EXIT_INVALID, main
from titrator.files import library as library_files
from titrator.files.library import (
    LibraryFileError,
    load_library,
    load_product,
    product_files,
    protocols_dir,
)

SHIPPED = protocols_dir() / "products"
EXAMPLE = protocols_dir() / "site-examples" / "kawasaki-privigen.toml"
PLAN = ["plan", "--indication", "pi", "--weight-kg", "70", "--dose-g-per-kg", "0.4", "--json"]


@pytest.fixture(autouse=True)
def _no_site_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.delenv("TITRATOR_CONFIG", raising=False)


@pytest.fixture
def site_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "site"
    directory.mkdir()
    shutil.copy(EXAMPLE, directory)
    return directory


def _parsed(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record the name of every file `read_toml` parses from now on."""
    names: list[str] = []
    real = library_files.read_toml

    def spy(path: Path) -> dict[str, object]:
        names.append(path.name)
        return real(path)

    monkeypatch.setattr(library_files, "read_toml", spy)
    return names


@pytest.mark.parametrize("with_site", [False, True])
def test_one_product_loads_as_the_whole_library_gives_it(site_dir: Path, with_site: bool) -> None:
    extra = [site_dir] if with_site else []
    whole = load_library(extra)
    assert len(whole.products) == len(product_files([SHIPPED]))
    for product_id in whole.products:
        one = load_product(product_id, extra)
        assert one.products == {product_id: whole.products[product_id]}
        assert one.files == {product_id: whole.files[product_id]}
        assert one.sha256 == {product_id: whole.sha256[product_id]}
        assert one.site_files == {
            key: paths for key, paths in whole.site_files.items() if key == product_id
        }
    assert load_product("privigen", [site_dir]).site_files == {
        "privigen": (site_dir / EXAMPLE.name,)
    }


def test_an_unknown_product_names_every_known_id_as_before(site_dir: Path) -> None:
    whole = load_library([site_dir])
    with pytest.raises(KeyError) as from_library:
        whole.product("no-such")
    with pytest.raises(KeyError) as from_loader:
        load_product("no-such", [site_dir])
    assert from_loader.value.args == from_library.value.args
    assert "kawasaki-privigen" not in from_loader.value.args[0]  # a site file is no product


def test_plan_parses_only_its_product_and_the_site_files_that_extend_it(
    site_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    parsed = _parsed(monkeypatch)
    args = [*PLAN, "--library", str(site_dir)]

    assert main([*args, "--product", "gamunex-c"]) == 0, capsys.readouterr().err
    assert parsed == ["gamunex-c.toml", "kawasaki-privigen.toml"]  # scanned: may be a site file

    parsed.clear()
    assert main([*args, "--product", "privigen"]) == 0, capsys.readouterr().err
    assert parsed == ["privigen.toml", "kawasaki-privigen.toml"]


def test_a_broken_file_of_another_product_stops_protocols_but_not_this_plan(
    site_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (site_dir / "broken.toml").write_text('id = "broken"\nname = [unclosed\n', encoding="utf-8")

    assert main([*PLAN, "--library", str(site_dir), "--product", "privigen"]) == 0
    capsys.readouterr()
    with pytest.raises(LibraryFileError, match=r"broken\.toml"):
        load_library([site_dir])
    assert main(["protocols", "list", "--library", str(site_dir)]) == EXIT_INVALID
    assert "broken.toml" in capsys.readouterr().err


def test_the_planned_products_own_problems_are_still_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    site = tmp_path / "twice"
    site.mkdir()
    shutil.copy(SHIPPED / "privigen.toml", site)
    assert main([*PLAN, "--library", str(site), "--product", "privigen"]) == EXIT_INVALID
    assert "already defined by" in capsys.readouterr().err

    bad_site = tmp_path / "bad-site"
    bad_site.mkdir()
    text = EXAMPLE.read_text(encoding="utf-8").replace('version = "', 'version = "x', 1)
    (bad_site / EXAMPLE.name).write_text(text, encoding="utf-8")
    assert main([*PLAN, "--library", str(bad_site), "--product", "privigen"]) == EXIT_INVALID
    assert "kawasaki-privigen.toml" in capsys.readouterr().err
