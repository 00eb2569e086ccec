"""HL7 v2 (2.6) messages of the IHE PCD profiles, built with hl7apy, and the MLLP feed."""
