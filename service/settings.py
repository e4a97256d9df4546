"""One typed settings object: command-line flags over POLICYQA_* variables over a TOML file."""

from __future__ import annotations

import os
from contextvars import ContextVar
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from ingest.chunker import ChunkSettings
from ingest.errors import PolicyQAError
from ingest.ocr import OcrSettings
from service.ranking.defaults import DEFAULT_RANKING_STAGES

if TYPE_CHECKING:
    from index.stores.base import StoreConfig

MAX_QUESTION_CHARS = 2000  # the HTTP API's hard limit; `max_question_chars` may lower it

_config_file: ContextVar[Path | None] = ContextVar("policyqa_config_file", default=None)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="POLICYQA_", extra="forbid")

    corpus_dir: Path = Field(Path("corpus"), description="folder of documents to index")
    index_dir: Path = Field(Path(".policyqa"), description="where index generations live")
    model: str = Field("default", description="embedding model: 'default' (index/models.py "
                       "DEFAULT_MODEL), 'mpnet' / 'all-mpnet-base-v2' (from its five part "
                       "packages), 'minilm' / 'all-MiniLM-L6-v2' (from its package), a "
                       "sentence-transformers model folder, or a name in the local HF cache")
    model_sha256: str | None = Field(None, description="expected sha256 of model.safetensors")
    # onnx-int8 is the default: SciFact nDCG@10 and the treaty set's recall@5 stay within 0.01
    # of torch fp32, at about twice the passages/s and several times faster queries.
    embedder_backend: Literal["torch", "onnx", "onnx-int8"] = Field(
        "onnx-int8", description="onnx-int8 (local export of the model, int8 dynamic "
        "quantization), onnx (fp32), or torch (sentence-transformers)")
    chunk_target_tokens: int = Field(160, ge=16, le=2048)
    chunk_overlap_tokens: int = Field(24, ge=0, le=512)
    embed_batch_size: int = Field(64, ge=1, le=4096)
    ocr: bool = Field(True, description="read PDF pages with no text layer, or a scrambled one, "
                      "with Tesseract (when it is installed)")
    tesseract_cmd: str = Field("tesseract", min_length=1, description="the Tesseract program: "
                               "a name on PATH or a path")
    ocr_languages: str = Field("eng", description="Tesseract languages joined by '+' (eng+fra); "
                               "each needs its tesseract-ocr-<code> package")
    ocr_dpi: int = Field(300, ge=72, le=1200, description="resolution pages are rendered at "
                         "for OCR")
    threads: int = Field(0, ge=0, description="torch / onnxruntime threads; 0 = all cores")
    vector_store: str = Field("faiss", description="faiss (files in the index folder) or milvus")
    faiss_index: Literal["auto", "flat", "hnsw"] = Field(
        "auto", description="FAISS index: exact flat, approximate HNSW, or auto (flat below "
        "50k vectors, HNSW above); see index/stores/faiss_store.py")
    # Bounds: index.stores.faiss_store.EF_SEARCH_MIN/MAX (tests/service/test_settings.py).
    faiss_ef_search: int = Field(128, ge=16, le=4096, description="HNSW search breadth: higher "
                                 "finds more of the exact neighbours, more slowly (`policyqa "
                                 "bench` prints the trade-off)")
    milvus_uri: str = Field("http://127.0.0.1:19530", description="Milvus server, cluster proxy "
                            "or Milvus Lite .db file; used when vector_store is milvus")
    milvus_token: SecretStr | None = Field(None, description="Milvus token (user:password or "
                                           "API key), when the server needs one")
    milvus_prefix: str = Field("policyqa", min_length=1, description="Milvus collection name "
                               "prefix: each build's collection is <prefix>_<build id>")
    milvus_index: str = Field("FLAT", description="Milvus vector index: FLAT (exact) or HNSW "
                              "(approximate, for very large collections)")
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=0, le=65535)
    admin_key: SecretStr | None = Field(None, description="bearer key for admin endpoints; "
                                        "admin endpoints refuse everything when unset")
    cors_origins: list[str] = Field(default_factory=list)
    max_body_bytes: int = Field(64 * 1024, ge=1024)
    max_question_chars: int = Field(MAX_QUESTION_CHARS, ge=10, le=MAX_QUESTION_CHARS,
                                    description="longest question the engine takes (HTTP, CLI "
                                    "and eval alike); at most the API's own limit")
    ranking_stages: list[str | dict[str, Any]] = Field(
        default_factory=lambda: list(DEFAULT_RANKING_STAGES),
        description="the ranking pipeline: stage names in order, or tables with a name and "
        "parameters (see service/ranking/pipeline.py for the stages)")

    @field_validator("admin_key", "milvus_token", mode="before")
    @classmethod
    def _empty_key_is_none(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("ranking_stages")
    @classmethod
    def _known_stages(cls, value: list[str | dict[str, Any]]) -> list[str | dict[str, Any]]:
        # Imported here: the stages pull in the index code, which most settings users never need.
        from service.ranking.pipeline import Pipeline

        Pipeline.from_settings(value)  # StageError (a ValueError) names what is wrong
        return value

    @field_validator("ocr_languages")
    @classmethod
    def _tesseract_languages(cls, value: str) -> str:
        OcrSettings(languages=value)  # a ValueError names what is wrong
        return value

    @field_validator("milvus_index")
    @classmethod
    def _index_name_upper(cls, value: str) -> str:
        return value.strip().upper()

    def store_config(self) -> StoreConfig:
        """What the vector store factory needs (index/stores/factory.py)."""
        from index.stores.base import StoreConfig

        return StoreConfig(kind=self.vector_store, faiss_index=self.faiss_index,
                           faiss_ef_search=self.faiss_ef_search, milvus_uri=self.milvus_uri,
                           milvus_token=self.milvus_token.get_secret_value()
                           if self.milvus_token else "",
                           milvus_prefix=self.milvus_prefix, milvus_index=self.milvus_index)

    def chunk_settings(self) -> ChunkSettings:
        return ChunkSettings(target_tokens=self.chunk_target_tokens,
                             overlap_tokens=self.chunk_overlap_tokens)

    def ocr_settings(self) -> OcrSettings:
        """How the PDF reader OCRs pages without a usable text layer (ingest/ocr.py)."""
        return OcrSettings(enabled=self.ocr, tesseract_cmd=self.tesseract_cmd,
                           languages=self.ocr_languages, dpi=self.ocr_dpi)

    @property
    def build_batch_size(self) -> int:
        """Texts per encode call in builds and workers: embed_batch_size, but never under 64,
        so that a small setting (meant for queries) does not make builds pay the per-call
        overhead thousands of times."""
        return max(self.embed_batch_size, 64)

    @classmethod
    def settings_customise_sources(cls, settings_cls: type[BaseSettings],
                                   init_settings: PydanticBaseSettingsSource,
                                   env_settings: PydanticBaseSettingsSource,
                                   dotenv_settings: PydanticBaseSettingsSource,
                                   file_secret_settings: PydanticBaseSettingsSource,
                                   ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        config = _config_file.get()
        if config is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=config))
        return tuple(sources)


class SettingsError(PolicyQAError):
    """The settings are invalid; the message names the setting."""


def load_settings(config: Path | None = None, **overrides: object) -> Settings:
    """Settings from flags (`overrides`, None meaning 'not given'), env and an optional file."""
    from pydantic import ValidationError

    path = config or (Path(os.environ["POLICYQA_CONFIG"]) if os.environ.get("POLICYQA_CONFIG")
                      else None)
    if path is not None and not path.is_file():
        raise SettingsError(f"config file {path} does not exist")
    token = _config_file.set(path)
    try:
        settings = Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}"
                             for e in exc.errors())
        raise SettingsError(f"invalid settings: {problems}") from None
    finally:
        _config_file.reset(token)
    return settings
