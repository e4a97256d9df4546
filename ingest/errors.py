"""The root of every PolicyQA error, in the bottom layer so that every module can derive from it."""

from __future__ import annotations


class PolicyQAError(Exception):
    """A failure the user can act on: the message says what went wrong and what to do.

    Every project error derives from this, so the CLI reports all of them in one line and the
    HTTP layer maps each subclass to a status code in one table (service/app.py). Anything else
    that escapes is a bug.
    """
