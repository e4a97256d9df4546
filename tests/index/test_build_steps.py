"""The build's steps on their own: hashing, chunk ids, the previous generation, write failures."""

from __future__ import annotations

import hashlib
import sqlite3

import pytest

from index.build_steps import (
    PreviousGeneration,
    ToEmbed,
    assign_ids,
    content_hash,
    write_failures,
)
from index.generations import BuildError
from index.stores.base import ChunkFields
from ingest.chunker import Chunk
from ingest.document import DocumentReadError
from ingest.pipeline import SourceFile

FIELDS = ChunkFields.of("a.md", {})


def _chunk(ordinal: int, embed_text: str) -> Chunk:
    return Chunk(document_id="a.md", ordinal=ordinal, char_start=0, char_end=1, text=embed_text,
                 section=("A",), embed_text=embed_text, tokens=1, embed_tokens=3 + ordinal)


def test_unchanged_texts_keep_their_ids_and_new_ones_get_the_next():
    chunks = [_chunk(0, "kept"), _chunk(1, "new"), _chunk(2, "twice"), _chunk(3, "twice")]
    reusable = {"kept": [4], "twice": [7], "gone": [9, 10]}
    ids = assign_ids(chunks, reusable, next_id=20, fields=FIELDS)
    assert [cid for cid, _ in ids.assigned] == [4, 20, 7, 21]
    assert [c.ordinal for _, c in ids.assigned] == [0, 1, 2, 3]
    assert ids.reused == [4, 7] and sorted(ids.stale) == [9, 10] and ids.next_id == 22
    # Sent to the embed step in chunk order, with the embedder's token counts.
    assert ids.to_embed == [ToEmbed(20, "new", 4, FIELDS), ToEmbed(21, "twice", 6, FIELDS)]


def test_a_repeated_text_takes_the_previous_ids_last_first():
    ids = assign_ids([_chunk(0, "x"), _chunk(1, "x")], {"x": [3, 5]}, next_id=9, fields=FIELDS)
    assert [cid for cid, _ in ids.assigned] == [5, 3] and ids.to_embed == [] and ids.stale == []


def test_content_hash_is_the_files_sha256(tmp_path):
    path = tmp_path / "a.md"
    path.write_bytes(b"# Title\n\nText.\n")
    assert content_hash(SourceFile(path, "a.md")) == hashlib.sha256(path.read_bytes()).hexdigest()
    with pytest.raises(DocumentReadError, match="disappeared"):
        content_hash(SourceFile(tmp_path / "gone.md", "gone.md"))


def test_a_full_build_starts_from_nothing():
    previous = PreviousGeneration(None)
    assert previous.next_chunk_id == 1 and previous.hashes == {} and previous.chunks is None
    assert not previous.unchanged("a.md", "0" * 64, None)
    assert previous.reusable_ids("a.md") == {}
    assert previous.removed_chunk_ids({"a.md"}) == (0, [])
    previous.close()


@pytest.mark.parametrize("error", [OSError(28, "No space left on device"),
                                   sqlite3.OperationalError("disk I/O error")])
def test_write_failures_free_what_was_written_and_say_why(error):
    freed = []
    with pytest.raises(BuildError, match=r"^step failed \((No space left on device|disk I/O "
                                         r"error)\)$") as raised, \
            write_failures(lambda reason: f"step failed ({reason})", lambda: freed.append(1)):
        raise error
    assert freed == [1] and raised.value.__cause__ is error


def test_write_failures_let_bugs_through_untouched():
    freed = []
    with pytest.raises(KeyError), write_failures(lambda r: r, lambda: freed.append(1)):
        raise KeyError("a bug, not a full disk")
    with pytest.raises(BuildError), write_failures(lambda r: r, errors=(OSError,)):
        raise OSError("only these")
    assert freed == []
