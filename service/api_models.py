"""The HTTP API's request and response models; field names are a contract with clients."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from index.modes import Mode
from service.engine import Passage
from service.settings import MAX_QUESTION_CHARS

MAX_K = 50  # passages per answer, for HTTP and the CLI alike
MAX_CONTEXT_TOKENS = 1_000_000


def _as_list(value: object) -> object:
    return [value] if isinstance(value, (str, int)) else value


class AskFilters(BaseModel):
    model_config = ConfigDict(extra="forbid")

    document_ids: list[str] | None = Field(None, max_length=200)
    jurisdiction: list[str] | None = Field(None, max_length=50)
    instrument_type: list[str] | None = Field(None, max_length=50)
    year: list[int] | None = Field(None, max_length=200)
    in_force: list[Literal["true", "false", "unknown", "any"]] | None = Field(
        None, max_length=4, description="in-force statuses to return (default: true and "
        "unknown, so text the source says is not in force is left out); any: every status")

    _lists = field_validator("document_ids", "jurisdiction", "instrument_type", "year",
                             "in_force", mode="before")(_as_list)

    def fields(self) -> dict[str, list[str | int]]:
        return {name: value for name in ("jurisdiction", "instrument_type", "year", "in_force")
                if (value := getattr(self, name))}


class AskRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    question: str = Field(..., min_length=1, max_length=MAX_QUESTION_CHARS)
    k: int = Field(5, ge=1, le=MAX_K)
    mode: Mode = "hybrid"
    filters: AskFilters | None = None
    max_context_tokens: int | None = Field(None, ge=1, le=MAX_CONTEXT_TOKENS)

    @field_validator("question")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("question is blank")
        return value


class IndexInfo(BaseModel):
    generation: int
    documents: int
    chunks: int


class AskResponse(BaseModel):
    question: str
    mode: str
    took_ms: float
    index: IndexInfo
    passages: list[Passage]  # the engine's dataclasses: one definition of the fields
    warnings: list[str] = Field(default_factory=list, description="why a filtered question may "
                                "have come back empty: filter values no indexed document has")


class DocumentOut(BaseModel):
    id: str
    title: str
    format: str
    pages: int | None
    chunks: int
    hash: str
    metadata: dict[str, str | int | None] = {}
    warnings: list[str] = []


class PageSpan(BaseModel):
    """One page of a paged document: text[start:end] is on PDF page `index` (1-based), printed
    as `label` ("36–37" on a two-page spread; null where the page prints no number); `ocr`: the
    page's text was read by OCR from its image (no usable text layer)."""
    start: int
    end: int
    index: int
    label: str | None
    ocr: bool = False


class DocumentText(BaseModel):
    id: str
    text: str = Field(description="the extracted text; citations' char_start/char_end index it")
    pages: list[PageSpan] | None = Field(description="page spans over `text`, in order; null "
                                         "for formats without pages")


class ErrorBody(BaseModel):
    code: str
    message: str


class ErrorResponse(BaseModel):
    error: ErrorBody


class RebuildStatus(BaseModel):
    state: Literal["idle", "running", "succeeded", "failed"]
    generation: int | None
    started: float | None = None
    finished: float | None = None
    error: str | None = None
    report: dict | None = None
