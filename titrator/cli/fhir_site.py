"""What `titrator export --format fhir` takes from the site: identifier systems, product codes.

The site configuration names the FHIR identifier systems of the patient identifiers and the
order numbers (`fhir_patient_id_system_1`, `fhir_patient_id_system_2`, `fhir_order_id_system`;
placeholders by default). The product library (shipped and the site's `library_dirs`) gives the
log's product file, whose package NDCs and GTINs code the Medication.
"""

from __future__ import annotations

from pathlib import Path

from titrator.files.config import load_config
from titrator.files.library import load_library
from titrator.interop.fhir.transaction import FhirSite


def fhir_site(config_file: str | None, product_id: str | None) -> FhirSite:
    """The FHIR export's site settings and the product file of `product_id` (if in the library).

    Raises:
        LibraryFileError: the configuration or a library file cannot be read.
    """
    config = load_config(Path(config_file) if config_file is not None else None)
    library = load_library(config.library_dirs)
    product = library.products.get(product_id) if product_id else None
    return FhirSite(
        patient_id_systems=(config.fhir_patient_id_system_1, config.fhir_patient_id_system_2),
        order_id_system=config.fhir_order_id_system,
        product=product,
    )
