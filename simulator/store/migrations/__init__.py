"""Alembic migrations of the simulator database (applied on start-up)."""
