"""Storage: metadata and vectors in SQLite (source of truth), a derived FAISS index."""
