"""The types every ranking stage shares: candidates, the request's context, and the Stage base."""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar, Self

import numpy as np

from index.chunk_store import StoredChunk
from index.stores.base import ChunkFilter
from ingest.catalogue import Catalogue
from ingest.errors import PolicyQAError
from service.expansion import WEIGHT as EXPANSION_WEIGHT
from service.expansion import expansion
from service.provisions import ProvisionReference
from service.ranking.shape import query_shape
from service.references import Reference

if TYPE_CHECKING:
    from index.searcher import IndexSearcher  # the searcher loads the stores: for types only

FUSED = "fused"  # the source of a candidate once the retrievers' rankings are combined
IN_FORCE_FILTER = "in_force"
IN_FORCE_VALUES = ("true", "false", "unknown", "any")
# What a request without an in_force filter gets: all but text the source says is not in force.
DEFAULT_IN_FORCE = frozenset({"true", "unknown"})


def in_force_wanted(values: Iterable[str | int] | None) -> frozenset[str] | None:
    """The in-force statuses a request's `in_force` filter values admit (None: any status);
    ValueError for a value that is none of true, false, unknown, any."""
    if not values:
        return DEFAULT_IN_FORCE
    wanted = {str(v).strip().lower() for v in values}
    bad = sorted(wanted - set(IN_FORCE_VALUES))
    if bad:
        raise ValueError(f"in_force {bad[0]!r} is not one of {', '.join(IN_FORCE_VALUES)}")
    return None if "any" in wanted else frozenset(wanted)


@dataclass(frozen=True, slots=True)
class Citation:
    """Where a passage is. `title` is the document's full title, `short_title` the name a
    citation line leads with (the catalogue's, else the title); `printed_pages` the page numbers
    printed on the PDF's pages ("36–39" across two spreads), None where the pages print none
    (the PDF page numbers `page_start`/`page_end` are always right); `label` the canonical
    citation ("8 U.S.C. § 1158(b)(1)(A)"), the instrument's cite_as alone where the passage is
    in no numbered provision. `ocr`: some of the passage was read by OCR from a page image, so
    it may hold recognition errors. `in_force`: "true" or "false" where the source says whether
    the text is law in force (Justice Canada XML: "false" for the amendments not in force),
    "unknown" where it says nothing; `in_force_since` the date it came into force and
    `last_amended` the document's last amendment, where the source gives them."""

    document_id: str
    title: str
    source_path: str
    section: str
    page_start: int | None
    page_end: int | None
    page_label_start: str | None
    page_label_end: str | None
    char_start: int
    char_end: int
    short_title: str = ""
    printed_pages: str | None = None
    text: str = ""  # the citation as one line to paste: short title, provision, pages
    # The citation a lawyer would write: "Refugee Convention, Art. 33(1)" (service/labels.py).
    label: str = ""
    ocr: bool = False
    in_force: str = "unknown"
    in_force_since: str | None = None
    last_amended: str | None = None


@dataclass(frozen=True, slots=True)
class DefinedTerm:
    """A term the passage uses that its own instrument defines: `start`/`end` the first use in
    the passage's text, `section` and `label` where the definition is ("Smuggling Protocol,
    Art. 3(a)")."""

    term: str
    start: int
    end: int
    section: str
    label: str


@dataclass(frozen=True, slots=True)
class Passage:
    """A ranked passage: `text` exactly as stored (offsets and `highlights` point into it) and
    `display_text`, the same text with column line breaks joined for reading (same length, so
    the same offsets hold; see service/display.py). `also_in`: where other copies of the
    instrument hold the same text (the collapse stage), each a citation of its own.
    `defined_terms`: the terms it uses that its instrument defines, each once, in the order of
    their first use. `references`: the
    indexed provisions its text refers to ("referred to in paragraph 1", "section
    1101(a)(42)"; service/references.py), start/end offsets into `text`."""

    rank: int
    score: float
    text: str
    highlights: list[tuple[int, int]]
    citation: Citation
    display_text: str = ""
    defined_terms: list[DefinedTerm] = field(default_factory=list)
    references: list[Reference] = field(default_factory=list, metadata={"description": (
        "the provisions the passage's text refers to that the index holds: 'subject to Article "
        "17(2)', 'referred to in paragraph 1' (of the passage's own article), 'section "
        "1101(a)(42) of this title', 'Article 28 of the Refugee Convention'; each with its "
        "start/end offsets into `text` and the referenced provision's document_id, section "
        "(heading path) and label (its canonical citation). References to provisions not in "
        "the index are left out.")})
    also_in: list[Citation] = field(default_factory=list, metadata={"description": (
        "the same text in other copies of the instrument the index holds (documents the "
        "catalogue gives the same citation name, e.g. three ECHRs): one citation per copy, "
        "with its own pages and offsets; the passage stands for them all in the ranking")})


@dataclass(frozen=True, slots=True)
class Candidate:
    """One chunk on its way through the stages. `source` names the ranking it belongs to: a
    retriever's ("dense", "lexical:named", ...) before fusion, FUSED after. `chunk` is filled
    in by the first stage that needs the text, `passage` by the cite stage."""

    chunk_id: int
    score: float
    source: str = FUSED
    chunk: StoredChunk | None = None
    passage: Passage | None = None
    copies: tuple[StoredChunk, ...] = ()  # the same text in other copies (the collapse stage)


@dataclass(eq=False)
class QueryContext:
    """One request, as every stage sees it: what was asked, on which generation, and what the
    question says, worked out once (by service.ranking.understand) however many stages use it.

    The query vector and BM25 scores are computed on first use and then shared, so a mode that
    never looks at one never pays for it. Not shared between threads: one per request.
    """

    question: str
    k: int
    mode: str
    where: ChunkFilter | None
    searcher: IndexSearcher
    catalogue: Catalogue
    max_context_tokens: int | None = None
    named: tuple[str, ...] = ()  # indexed documents the question names
    references: tuple[ProvisionReference, ...] = ()  # "Article 33", "8 U.S.C. 1158", ...
    provision_chunk_ids: tuple[int, ...] = ()  # chunks of the provisions it names
    in_force: frozenset[str] | None = DEFAULT_IN_FORCE  # statuses admitted; None: any
    _allowed: dict[ChunkFilter | None, np.ndarray | None] = field(
        default_factory=lambda: {None: None}, init=False, repr=False)
    _chunks: dict[int, StoredChunk] = field(default_factory=dict, init=False, repr=False)

    @property
    def depth(self) -> int:
        """How many ranked candidates the answer may draw on: k, or with a token budget more,
        since passages that do not fit are skipped for later ones that do."""
        return self.k if self.max_context_tokens is None else max(self.k * 4, 20)

    @property
    def preferred(self) -> ChunkFilter | None:
        """The request's filter narrowed to the documents the question names; None if none."""
        named = ChunkFilter.of(self.named)
        return None if named is None else named.within(self.where)

    @cached_property
    def vector(self) -> np.ndarray:
        return self.searcher.embedder.encode_query(self.question)

    @cached_property
    def bm25_scores(self) -> np.ndarray:
        return self.searcher.lexical.scores(self.question)

    @cached_property
    def expanded_bm25_scores(self) -> np.ndarray:
        """The BM25 scores plus, at half weight, those of the other names of the legal terms
        the question uses (service/expansion.py); the plain scores where it uses none."""
        extra = expansion(self.question)
        if not extra:
            return self.bm25_scores
        return self.bm25_scores + EXPANSION_WEIGHT * self.searcher.lexical.scores(extra)

    @cached_property
    def shape(self) -> str:
        """The question's shape (service.ranking.shape): provision, question or keyword."""
        return query_shape(self.question, self.references)

    def narrowed(self, where: ChunkFilter | None) -> QueryContext:
        """The same request over `where`, naming nothing, sharing what is computed so far (the
        query vector, the BM25 scores, the chunks read) and keeping its shape."""
        self.shape  # noqa: B018 -- worked out while the references are still there
        sub = replace(self, where=where, named=(), references=(), provision_chunk_ids=())
        for computed in ("vector", "bm25_scores", "expanded_bm25_scores", "shape"):
            if computed in self.__dict__:
                sub.__dict__[computed] = self.__dict__[computed]
        sub._chunks = self._chunks
        return sub

    def in_force_only(self, chunk_ids: Iterable[int]) -> list[int]:
        """`chunk_ids` (in order) whose in-force status the request admits."""
        chunk_ids = list(chunk_ids)
        if self.in_force is None or not chunk_ids:
            return chunk_ids
        status = self.searcher.in_force_status(chunk_ids)
        return [cid for cid, s in zip(chunk_ids, status) if s in self.in_force]

    def allowed(self, subset: ChunkFilter | None) -> np.ndarray | None:
        """Chunk ids passing `subset` (None: no filter), resolved once per request."""
        if subset not in self._allowed:
            self._allowed[subset] = self.searcher.allowed_ids(subset)
        return self._allowed[subset]

    def fetch(self, candidates: Iterable[Candidate]) -> list[Candidate]:
        """The candidates with their chunks, read once per request; a chunk no longer in the
        store is dropped."""
        candidates = list(candidates)
        missing = [c.chunk_id for c in candidates
                   if c.chunk is None and c.chunk_id not in self._chunks]
        if missing:
            self._chunks.update(self.searcher.chunks.chunks(missing))
        out: list[Candidate] = []
        for c in candidates:
            if c.chunk is not None:
                out.append(c)
            elif (chunk := self._chunks.get(c.chunk_id)) is not None:
                out.append(replace(c, chunk=chunk))
        return out


class StageError(PolicyQAError, ValueError):
    """A ranking stage's name or parameters are not acceptable; the message says which."""


class Stage(ABC):
    """A step of the ranking pipeline: candidates in, candidates out.

    Subclasses set `name` (the word settings use for them). A stage with parameters overrides
    `to_dict` and `from_dict`, so that a pipeline can be written down and read back.
    """

    name: ClassVar[str]

    @abstractmethod
    def run(self, ctx: QueryContext, candidates: list[Candidate]) -> list[Candidate]: ...

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        parameters(cls.name, data, {})
        return cls()

    def __repr__(self) -> str:
        params = {k: v for k, v in self.to_dict().items() if k != "name"}
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in params.items())})"


def parameters(stage: str, data: Mapping[str, Any], defaults: Mapping[str, int | float | bool]
               ) -> dict[str, Any]:
    """A stage's parameters from `data` (which may carry its "name"), over `defaults`;
    StageError for an unknown name or a value that is not a positive integer (a positive
    number where the default is a float, true or false where it is a bool)."""
    given = {k: v for k, v in data.items() if k != "name"}
    unknown = sorted(set(given) - set(defaults))
    if unknown:
        takes = f"takes {', '.join(sorted(defaults))}" if defaults else "takes no parameters"
        raise StageError(f"ranking stage {stage!r} {takes}, not {unknown[0]!r}")
    out = dict(defaults)
    for key, value in given.items():
        if isinstance(defaults[key], bool):
            if not isinstance(value, bool):
                raise StageError(f"ranking stage {stage!r}: {key} must be true or false, "
                                 f"not {value!r}")
            out[key] = value
            continue
        real = isinstance(defaults[key], float)
        kinds = (int, float) if real else (int,)
        # bool is an int to Python, but `depth = true` in a settings file is a mistake
        if (isinstance(value, bool) or not isinstance(value, kinds)
                or not (0 < value < math.inf if real else value >= 1)):
            kind = "number" if real else "integer"
            raise StageError(f"ranking stage {stage!r}: {key} must be a positive {kind}, "
                             f"not {value!r}")
        out[key] = float(value) if real else value
    return out

