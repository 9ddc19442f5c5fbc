"""Alembic migrations of hedgehog's schema (run by `Database.migrate`, `hedgehog.store.upgrade`)."""
