"""Reading product files from disk into domain models, with clinician-readable errors.

The shipped library lives in ``protocols/products`` (inside the wheel: ``titrator/_protocols``).
A site adds its own product files in further directories; the same validation applies. A file
there with a top-level ``product`` key is a site indication file instead: it adds off-label
indications to a product already loaded (`titrator.domain.site_indications`). Any file that
breaks a rule is refused, naming the file, the dotted field path and the value: a broken file
fails loudly at load, never silently at the bedside.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from titrator.domain.library import Indication, Product, semantic_problems
from titrator.domain.site_indications import (
    SiteIndication,
    SiteIndicationFile,
    merge,
    site_file_problems,
)
from titrator.domain.validation_errors import Problem, problems_from_validation_error

MAX_FILE_BYTES = 256 * 1024
"""A product file is a few kilobytes; anything this large is not one."""


class LibraryFileError(Exception):
    """A data file that may not be used, with every problem found in it.

    Attributes:
        path: the file.
        problems: what is wrong, one `Problem` each.
    """

    def __init__(self, path: Path, problems: Sequence[Problem]) -> None:
        self.path = path
        self.problems = tuple(problems)
        super().__init__("\n".join(self.lines()))

    def lines(self) -> list[str]:
        """One line per problem, each naming the file."""
        return [problem.render(str(self.path)) for problem in self.problems]


def protocols_dir() -> Path:
    """The shipped ``protocols`` directory (from the wheel, or the source tree)."""
    package = Path(__file__).resolve().parent.parent  # titrator/
    bundled = package / "_protocols"
    return bundled if bundled.is_dir() else package.parent / "protocols"


def read_toml(path: Path) -> dict[str, Any]:
    """Read a TOML data file strictly: UTF-8, no BOM, not empty, not huge, numbers as Decimal.

    Raises:
        LibraryFileError: naming the file and the problem.
    """

    def fail(message: str, value: str | None = None) -> LibraryFileError:
        return LibraryFileError(path, [Problem("", message, value)])

    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise fail(f"file is too large to be a data file ({size} bytes)")
        raw = path.read_bytes()
    except OSError as error:
        raise fail(f"cannot read file: {error.strerror or error}") from error
    if not raw.strip():
        raise fail("file is empty")
    if raw.startswith(b"\xef\xbb\xbf"):
        raise fail("file starts with a byte-order mark; save it as UTF-8 without BOM")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise fail(f"not UTF-8 text (byte {error.start})") from error
    try:
        return tomllib.loads(text, parse_float=Decimal)
    except tomllib.TOMLDecodeError as error:
        raise fail(f"not valid TOML: {error}") from error


def _allowed_keys(model: type[BaseModel], prefix: str, data: Any) -> dict[str, list[str]]:
    """Field names allowed at each dotted path actually present in `data` (for 'did you mean')."""
    allowed = {prefix: list(model.model_fields)}
    if not isinstance(data, dict):
        return allowed
    for name, info in model.model_fields.items():
        child = data.get(name)
        path = f"{prefix}.{name}" if prefix else name
        for sub in _submodels(info.annotation):
            allowed.update(_allowed_keys(sub, path, child))
    if model in (Product, SiteIndicationFile) and isinstance(data.get("indications"), dict):
        each = Indication if model is Product else SiteIndication
        for ind_id, ind_data in data["indications"].items():
            allowed.update(_allowed_keys(each, f"indications.{ind_id}", ind_data))
    return allowed


def _submodels(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    found: list[type[BaseModel]] = []
    for arg in getattr(annotation, "__args__", ()):
        found.extend(_submodels(arg))
    return found


def parse_product(data: dict[str, Any], path: Path) -> Product:
    """Validate parsed TOML as a product file.

    Raises:
        LibraryFileError: every structural and semantic problem, each with its field path.
    """
    try:
        product = Product.model_validate(data)
    except ValidationError as error:
        hints = _allowed_keys(Product, "", data)
        raise LibraryFileError(path, problems_from_validation_error(error, hints)) from error
    problems = semantic_problems(product)
    if product.id != path.stem:
        problems.insert(0, Problem("id", f"must match the file name {path.stem!r}", product.id))
    if problems:
        raise LibraryFileError(path, problems)
    return product


def load_product_file(path: Path) -> Product:
    """Read and validate one product file."""
    return parse_product(read_toml(path), path)


def load_site_file(path: Path, products: dict[str, Product]) -> Product:
    """Read and validate one site indication file against `products`; the merged product."""
    return parse_site_file(read_toml(path), path, products)


def is_site_indication_file(data: dict[str, Any]) -> bool:
    """A site indication file names the product it adds to (top-level ``product``)."""
    return "product" in data


def parse_site_file(data: dict[str, Any], path: Path, products: dict[str, Product]) -> Product:
    """Validate parsed TOML as a site indication file and merge it into its product.

    Args:
        data: the file's parsed TOML.
        path: the file (for errors, its name and the digest).
        products: the products loaded so far, by id.

    Returns:
        The product with the file's indications added.

    Raises:
        LibraryFileError: every structural and semantic problem, each with its field path.
    """
    try:
        site = SiteIndicationFile.model_validate(data)
    except ValidationError as error:
        hints = _allowed_keys(SiteIndicationFile, "", data)
        raise LibraryFileError(path, problems_from_validation_error(error, hints)) from error
    if site.id != path.stem:
        raise LibraryFileError(
            path, [Problem("id", f"must match the file name {path.stem!r}", site.id)]
        )
    product = products.get(site.product)
    if product is None:
        known = ", ".join(sorted(products))
        raise LibraryFileError(
            path,
            [Problem("product", f"no such product in the library; known: {known}", site.product)],
        )
    problems = site_file_problems(site, product)
    if problems:
        raise LibraryFileError(path, problems)
    return merge(product, site, hashlib.sha256(path.read_bytes()).hexdigest())


@dataclass(frozen=True)
class Library:
    """The products available for planning, with where each came from.

    Attributes:
        products: product id -> validated product.
        files: product id -> the file it was read from.
        sha256: product id -> SHA-256 of the file's bytes (recorded with each session; a site
            indication file's digest is recorded with the plan of each of its indications).
    """

    products: dict[str, Product]
    files: dict[str, Path] = field(default_factory=dict)
    sha256: dict[str, str] = field(default_factory=dict)
    site_files: dict[str, tuple[Path, ...]] = field(default_factory=dict)
    """product id -> the site indication files that added indications to it."""

    def product(self, product_id: str) -> Product:
        """The product with this id.

        Raises:
            KeyError: with the known ids in the message.
        """
        try:
            return self.products[product_id]
        except KeyError:
            raise KeyError(unknown_product(product_id, self.products)) from None


def unknown_product(product_id: str, known: Iterable[str]) -> str:
    """The message for a product id no product file defines, listing the ids that exist."""
    return f"unknown product {product_id!r}; known: {', '.join(sorted(set(known)))}"


def product_files(directories: Iterable[Path]) -> list[Path]:
    """Every ``*.toml`` product file in the given directories, sorted by name."""
    files: list[Path] = []
    for directory in directories:
        files.extend(sorted(p for p in directory.glob("*.toml") if p.is_file()))
    return files


def library_directories(extra_dirs: Sequence[Path], *, include_shipped: bool) -> list[Path]:
    """The shipped products directory (unless left out), then the site directories.

    Raises:
        LibraryFileError: a site directory that does not exist.
    """
    directories: list[Path] = []
    if include_shipped:
        directories.append(protocols_dir() / "products")
    for directory in extra_dirs:
        if not directory.is_dir():
            raise LibraryFileError(directory, [Problem("", "library directory does not exist")])
        directories.append(directory)
    return directories


def load_library(
    extra_dirs: Sequence[Path] = (),
    *,
    include_shipped: bool = True,
    merge_site_files: bool = True,
) -> Library:
    """Load the shipped product library plus any site directories.

    Args:
        extra_dirs: site directories of further product files and site indication files
            (merged into their product once every product file is loaded).
        include_shipped: whether to load the shipped products too.
        merge_site_files: False leaves the site indication files out (the products as their
            own files define them; `titrator protocols validate` checks site files against it).

    Raises:
        LibraryFileError: for the first file that is refused (or a missing site directory, or a
            product id defined twice).
    """
    directories = library_directories(extra_dirs, include_shipped=include_shipped)
    products: dict[str, Product] = {}
    files: dict[str, Path] = {}
    digests: dict[str, str] = {}
    site_files: list[tuple[Path, dict[str, Any]]] = []
    for path in product_files(directories):
        data = read_toml(path)
        if is_site_indication_file(data):
            if merge_site_files:
                site_files.append((path, data))  # merged once every product is loaded
            continue
        product = parse_product(data, path)
        if product.id in products:
            raise LibraryFileError(
                path, [Problem("id", f"already defined by {files[product.id]}", product.id)]
            )
        products[product.id] = product
        files[product.id] = path
        digests[product.id] = hashlib.sha256(path.read_bytes()).hexdigest()
    added: dict[str, tuple[Path, ...]] = {}
    for path, data in site_files:
        merged = parse_site_file(data, path, products)
        products[merged.id] = merged
        added[merged.id] = (*added.get(merged.id, ()), path)
    return Library(products, files, digests, added)


_MAY_NAME_A_PRODUCT = re.compile(
    rb"""(?m)^[ \t]*\[*[ \t]*(?:product(?![A-Za-z0-9_-])|"product"|'product'|"[^"\r\n]*\\)"""
)
"""A line that may give a TOML document a top-level ``product`` key: a key or table header
``product`` (bare or quoted), or a quoted key with an escape in it. A site indication file has
such a line; a file without one cannot be a site indication file (a false match only costs a
parse)."""


def load_product(
    product_id: str, extra_dirs: Sequence[Path] = (), *, include_shipped: bool = True
) -> Library:
    """Load one product for a plan: its own file and the site indication files that extend it.

    The same directories, files and checks as `load_library`, for that product only: its
    product file (named ``<id>.toml``, as every product file must be) is parsed and checked,
    and so is every site indication file that adds to it. The other files are scanned, not
    parsed: a file with no line that can make a top-level ``product`` key is another product's
    file, and its name gives that product's id for the unknown-product message. So a broken
    file of another product does not stop a plan for this one (`titrator protocols validate`
    and `load_library` still refuse it).

    Returns:
        A library holding only `product_id` (merged with its site indication files).

    Raises:
        LibraryFileError: the product's file or one of its site indication files is refused,
            the product is defined twice, or a site directory does not exist.
        KeyError: no product file defines `product_id`; the message is `Library.product`'s.
    """
    directories = library_directories(extra_dirs, include_shipped=include_shipped)
    products: dict[str, Product] = {}
    files: dict[str, Path] = {}
    digests: dict[str, str] = {}
    known: list[str] = []
    site_files: list[tuple[Path, dict[str, Any]]] = []
    for path in product_files(directories):
        ours = path.stem == product_id
        data = read_toml(path) if ours else _site_file_data(path)
        if data is not None and is_site_indication_file(data):
            if data["product"] == product_id:
                site_files.append((path, data))
            continue
        if not ours:
            known.append(path.stem)  # another product's file: not checked here
            continue
        assert data is not None
        product = parse_product(data, path)
        if product.id in products:
            raise LibraryFileError(
                path, [Problem("id", f"already defined by {files[product.id]}", product.id)]
            )
        products[product.id] = product
        files[product.id] = path
        digests[product.id] = hashlib.sha256(path.read_bytes()).hexdigest()
    if product_id not in products:
        raise KeyError(unknown_product(product_id, known))
    added: dict[str, tuple[Path, ...]] = {}
    for path, data in site_files:
        merged = parse_site_file(data, path, products)
        products[merged.id] = merged
        added[merged.id] = (*added.get(merged.id, ()), path)
    return Library(products, files, digests, added)


def _site_file_data(path: Path) -> dict[str, Any] | None:
    """The parsed file if it may be a site indication file; None if it cannot be one.

    Raises:
        LibraryFileError: the file cannot be read, or may be a site file and is not valid TOML.
    """
    try:
        raw = path.read_bytes()
    except OSError:
        return read_toml(path)  # raises the error `load_library` gives for it
    return read_toml(path) if _MAY_NAME_A_PRODUCT.search(raw) else None
