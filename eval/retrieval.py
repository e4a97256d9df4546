"""Retrievers under evaluation: the in-process AnswerEngine, or a running server's POST /v1/ask."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from index.generations import NoIndexLoadedError
from ingest.catalogue import catalogue_for
from ingest.document import DocumentReadError, sha256_bytes
from ingest.pipeline import SourceFile, load_document, read_bytes
from service.engine import AnswerEngine

SERVER_MAX_K = 50  # the HTTP API's limit on k


@dataclass(frozen=True, slots=True)
class Retrieved:
    document_id: str
    char_start: int
    char_end: int
    section: str
    text: str
    score: float
    # The same text in other copies of the instrument: (document_id, char_start, char_end).
    also_in: tuple[tuple[str, int, int], ...] = ()

    def spans(self) -> list[tuple[str, int, int]]:
        """Where the passage's text is: its own place, then its copies'."""
        return [(self.document_id, self.char_start, self.char_end), *self.also_in]


class Retriever(Protocol):
    max_k: int | None

    def search(self, question: str, k: int, mode: str) -> list[Retrieved]: ...

    def document_text(self, document_id: str) -> str | None: ...


class EngineRetriever:
    """The same code path as the HTTP service, without HTTP."""

    max_k: int | None = None

    def __init__(self, engine: AnswerEngine) -> None:
        if engine.searcher is None and not engine.refresh():
            raise NoIndexLoadedError(f"no index in {engine.index_dir}: build one with "
                                     "`policyqa index build`")
        self.engine = engine

    def search(self, question: str, k: int, mode: str) -> list[Retrieved]:
        answer = self.engine.ask(question, k=k, mode=mode)
        return [Retrieved(p.citation.document_id, p.citation.char_start, p.citation.char_end,
                          p.citation.section, p.text, p.score,
                          tuple((a.document_id, a.char_start, a.char_end) for a in p.also_in))
                for p in answer.passages]

    def document_text(self, document_id: str) -> str | None:
        searcher = self.engine.searcher
        return searcher.chunks.document_text(document_id) if searcher else None


class ServerRetriever:
    """A running PolicyQA server. Document texts come from the local corpus folder, read with
    the project's own readers, so quote offsets match the server's citations."""

    max_k: int | None = SERVER_MAX_K

    def __init__(self, base_url: str, corpus_dir: Path | None, timeout: float = 60) -> None:
        self.url = base_url.rstrip("/") + "/v1/ask"
        self.corpus_dir = corpus_dir
        self.timeout = timeout
        self._texts: dict[str, str | None] = {}

    def search(self, question: str, k: int, mode: str) -> list[Retrieved]:
        body = json.dumps({"question": question, "k": min(k, SERVER_MAX_K), "mode": mode})
        request = urllib.request.Request(self.url, data=body.encode(), method="POST",
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                data = json.load(response)
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode(errors="replace")[:300]
            raise RuntimeError(f"{self.url} answered {exc.code}: {detail}") from None
        out = []
        for p in data["passages"]:
            c = p["citation"]
            out.append(Retrieved(c["document_id"], c["char_start"], c["char_end"],
                                 c.get("section") or "", p.get("text", ""), p.get("score", 0.0),
                                 tuple((a["document_id"], a["char_start"], a["char_end"])
                                       for a in p.get("also_in") or ())))
        return out

    def document_text(self, document_id: str) -> str | None:
        if document_id not in self._texts:
            self._texts[document_id] = self._read(document_id)
        return self._texts[document_id]

    def _read(self, document_id: str) -> str | None:
        if self.corpus_dir is None:
            return None
        path = self.corpus_dir / document_id
        if not path.is_file():
            return None
        source = SourceFile(path, document_id)
        try:
            data = read_bytes(source)
            return load_document(source, sha256_bytes(data), catalogue_for(self.corpus_dir)).text
        except DocumentReadError:
            return None
