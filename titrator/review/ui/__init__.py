"""The review app (Textual): session list, one session, the summary."""
