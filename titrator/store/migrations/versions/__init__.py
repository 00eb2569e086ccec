"""Alembic revisions of the ward store, oldest first."""
