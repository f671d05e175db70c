"""Storage: SQLAlchemy models, engines and migrations (the schema changes only through Alembic)."""
