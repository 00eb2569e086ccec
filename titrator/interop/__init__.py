"""Speaking the hospital's languages: FHIR R4 transactions and IHE PCD messages over HL7 v2.

Built from the review model (`titrator.review`), above it and beside nothing: the review room
reads logs and shows them; this room turns a reviewed log into what an EHR or an interface
engine takes, and (`hl7v2.feed`) sends it over the network. Only `titrator send` and
`titrator export` (the CLI) use it; the bedside never waits for it.

- `fhir`: the transaction Bundle (`fhir.export`), its entries, conditional creates, devices and
  provenance (`fhir.transaction`), and the code systems it speaks (`fhir.vocabulary`);
- `hl7v2`: IHE PCD-10 `ORU^R42` infusion events and PCD-04 `ORU^R40` pump alarms
  (`hl7v2.pcd10`, `hl7v2.alerts`), and the MLLP outbox that sends them (`hl7v2.feed`).
"""
