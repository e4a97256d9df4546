"""Every gold quote of the treaty set is found in its document's extracted text (no embedding)."""

from __future__ import annotations

from pathlib import Path

import pytest

from eval.datasets import load_set
from eval.judges import locate_quotes
from ingest.catalogue import catalogue_for
from ingest.document import DocumentReadError, sha256_bytes
from ingest.pipeline import SourceFile, load_document, read_bytes

TREATY_SET = Path(__file__).resolve().parents[2] / "eval" / "sets" / "treaties.jsonl"

@pytest.fixture(scope="module")
def located(shared_corpus: Path):
    catalogue = catalogue_for(shared_corpus)
    texts: dict[str, str | None] = {}

    def text_of(document: str) -> str | None:
        if document not in texts:
            source = SourceFile(shared_corpus / document, document)
            try:
                texts[document] = load_document(source, sha256_bytes(read_bytes(source)),
                                                catalogue).text
            except DocumentReadError:
                texts[document] = None
        return texts[document]

    return locate_quotes(load_set(TREATY_SET).queries, text_of)


def test_every_gold_quote_is_located_once(located) -> None:
    problems = []
    for (qid, i), lq in sorted(located.items()):
        if lq.match is None:
            problems.append(f"{qid} gold {i} in {lq.gold.document}: {lq.problem}: "
                            f"{lq.gold.quote[:80]!r}")
        elif lq.match.occurrences > 1:
            problems.append(f"{qid} gold {i} in {lq.gold.document}: found "
                            f"{lq.match.occurrences} times")
    assert not problems, f"{len(problems)} gold quotes not located:\n" + "\n".join(problems)
