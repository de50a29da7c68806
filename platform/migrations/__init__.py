"""Alembic revisions for the platform's own tables (run by ``xrm migrate``)."""
