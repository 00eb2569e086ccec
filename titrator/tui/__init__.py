"""The Textual app a bedside nurse uses for a whole infusion: a thin shell over the core."""
