"""Files to documents to chunks: readers, the chunker and the corpus catalogue."""
