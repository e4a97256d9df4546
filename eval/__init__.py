"""Retrieval evaluation: PolicyQA quote sets, BEIR and LegalBench-RAG benchmarks, and the CI gate."""
