"""One reader per document format, and the registry that picks one by file suffix."""
