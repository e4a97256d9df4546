"""Answers questions: the answer engine, the HTTP API, the web page and the CLI."""
