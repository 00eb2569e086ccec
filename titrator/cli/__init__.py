"""The one ``titrator`` command tree; wiring happens here and only here."""
