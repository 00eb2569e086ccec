"""FHIR R4 export: a `transaction` Bundle of conditional creates built from a reviewed log."""
