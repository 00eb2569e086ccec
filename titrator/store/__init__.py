"""The ward store: verified session logs shipped to one database (SQLite or PostgreSQL).

Two layers in one schema (`titrator.store.schema`, built by the Alembic migrations in
`titrator/store/migrations/`):

- *evidence*: every audit record's exact line bytes, keyed by (station, session, seq), with its
  hash and previous hash; append-only (triggers refuse UPDATE and DELETE on both engines);
- *facts*: sessions, rate segments, vitals, reactions, overrides, refusals, pump commands,
  medicines given and lots, derived from the same review model the review app uses
  (`titrator.review.model`); patients appear only as a keyed pseudonym (`titrator.store.pseudonym`).

`open_store` opens (and migrates) a store, `ship_log` ships one log, `verify_store` re-checks
every stored chain.
"""
