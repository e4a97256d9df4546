"""Stores and searches vectors and terms: embedder, vector store, lexical index, generations."""
