"""Alembic migrations of the ward store, run programmatically by `titrator.store.db`."""
