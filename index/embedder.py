"""Sentence-transformers embedding, with the default model resolved offline and checked by hash."""

from __future__ import annotations

import importlib
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from index.models import DEFAULT_MODEL as _DEFAULT
from index.models import KnownModel, ModelError, canonical_name, known_model
from index.split_model import assemble, installed_parts, model_cache_folder, verify_weights

__all__ = ["DEFAULT_MODEL", "Embedder", "ModelError", "ResolvedModel", "SentenceTransformerEmbedder",
           "canonical_name", "resolve_model", "verify_model_dir"]

DEFAULT_MODEL = _DEFAULT.name


class Embedder(Protocol):
    """Turns texts into L2-normalized float32 vectors, and counts what it reads."""

    name: str
    dimension: int
    max_tokens: int  # the most word pieces (special tokens included) the model reads

    def count_tokens(self, text: str) -> int: ...

    def encode(self, texts: list[str]) -> np.ndarray: ...

    def encode_query(self, text: str) -> np.ndarray: ...


@dataclass(frozen=True, slots=True)
class ResolvedModel:
    location: str  # a folder, or a hub name already in the local cache
    source: str  # how it was found, for `index status`
    verified_sha256: str | None


def _packaged_model_dir(package: str) -> Path | None:
    try:
        module = importlib.import_module(package)
    except ImportError:
        return None
    getter = getattr(module, "get_model_path", None)
    if getter is not None:
        return Path(getter())
    root = Path(module.__file__ or "").parent
    for candidate in [root, *root.iterdir()]:
        if candidate.is_dir() and (candidate / "model.safetensors").exists():
            return candidate
    return None


def verify_model_dir(folder: Path, expected_sha256: str) -> str:
    return verify_weights(folder, expected_sha256)


def _resolve_packaged(model: KnownModel, expected: str) -> ResolvedModel:
    for package in model.packages:
        folder = _packaged_model_dir(package)
        if folder is not None and (folder / "model.safetensors").exists():
            return ResolvedModel(str(folder), f"package {package}", verify_model_dir(folder, expected))
    raise ModelError(f"{model.name} is not installed: {model.install}, or set POLICYQA_MODEL "
                     "to a model folder")


def _resolve_split(model: KnownModel, expected: str) -> ResolvedModel:
    folder = model_cache_folder(model.split_zip, expected)
    if not folder.is_dir():
        parts = installed_parts(model.split_packages, f"{model.split_zip}.zip", model.install)
        assemble(parts, model.split_zip, folder, expected)
    try:
        verified = verify_model_dir(folder, expected)
    except ModelError as exc:
        raise ModelError(f"{exc}. The unpacked copy in {folder} was changed after it was "
                         "verified: delete that folder to unpack it again from the packages") from None
    packages = model.split_packages
    return ResolvedModel(str(folder), f"packages {packages[0]}..{packages[-1][-3:]}, unpacked",
                         verified)


def resolve_model(name: str, expected_sha256: str | None = None) -> ResolvedModel:
    """Finds the model's files without touching the network.

    A known model (index/models.py: all-MiniLM-L6-v2 from its package, all-mpnet-base-v2
    unpacked once from its five part packages into the cache) must match its published hash; a
    folder is used as it is (checked when a hash is given); any other name must already be in
    the local Hugging Face cache.
    """
    model = known_model(name)
    if model is not None:
        expected = expected_sha256 or model.sha256
        if model.split_packages:
            return _resolve_split(model, expected)
        return _resolve_packaged(model, expected)
    folder = Path(name).expanduser()
    if folder.is_dir():
        verified = verify_model_dir(folder, expected_sha256) if expected_sha256 else None
        return ResolvedModel(str(folder.resolve()), "folder", verified)
    return ResolvedModel(name, "local Hugging Face cache", None)


class SentenceTransformerEmbedder:
    """The default model unless told otherwise; any sentence-transformers model by name or folder."""

    def __init__(self, model: str = DEFAULT_MODEL, *, expected_sha256: str | None = None,
                 batch_size: int = 64, device: str = "cpu") -> None:
        # Nothing may be fetched at run time: only local files are ever read.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()  # counting long texts is deliberate, not a warning
        resolved = resolve_model(model, expected_sha256)
        try:
            self.model = SentenceTransformer(resolved.location, device=device,
                                             trust_remote_code=False, local_files_only=True)
        except Exception as exc:  # a broken or missing model folder: one clear error
            raise ModelError(f"cannot load embedding model {model!r} from "
                             f"{resolved.location}: {exc}") from exc
        self.resolved = resolved
        self.name = canonical_name(model)
        self.batch_size = batch_size
        get_dimension = (getattr(self.model, "get_embedding_dimension", None)
                         or self.model.get_sentence_embedding_dimension)
        dimension = get_dimension()
        if dimension is None:
            raise ModelError(f"model {model!r} does not report its embedding dimension")
        self.dimension = int(dimension)
        self.max_tokens = int(self.model.max_seq_length)
        self._tokenizer = self.model.tokenizer
        logging.getLogger("sentence_transformers").setLevel(logging.WARNING)

    def count_tokens(self, text: str) -> int:
        ids = self._tokenizer(text, add_special_tokens=True, truncation=False)["input_ids"]
        return len(ids)

    def encode(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = self.model.encode(texts, batch_size=self.batch_size,
                                    normalize_embeddings=True, convert_to_numpy=True,
                                    show_progress_bar=False)
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def encode_query(self, text: str) -> np.ndarray:
        return self.encode([text])[0]
