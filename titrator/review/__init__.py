"""Reviewing audit logs after the infusion: the review app, the folder summary and the exports.

`titrator.review.model` turns a log into a `SessionReview` (pure apart from reading the file;
no textual). The exports (`export_csv`, `export_html`, `export_discharge`) and the summary build
on it; the Textual app (`titrator.review.ui`) only displays it. The hospital interfaces (FHIR and
HL7 v2, and the network feed) build on it from their own room, `titrator.interop`. Entry points
for the CLI: `titrator.cli.review.review_main` and `export_main`.
"""
