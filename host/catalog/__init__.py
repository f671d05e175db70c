"""The merchant's catalog: import, storage, live facts, retrieval."""
