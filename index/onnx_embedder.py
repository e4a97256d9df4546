"""ONNX Runtime embedding of a sentence-transformers model, exported locally once and cached by hash."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from index.cache import cache_dir
from index.embedder import DEFAULT_MODEL, ModelError, resolve_model
from index.models import canonical_name, known_model
from ingest.document import sha256_file
from ingest.files import atomic_path, waiting_lock, write_atomic

if TYPE_CHECKING:
    from tokenizers import Encoding

log = logging.getLogger(__name__)

# Bump when the export code changes in a way that changes the files: old caches are then ignored.
EXPORT_VERSION = 1
OPSET = 17
_INPUTS = ("input_ids", "attention_mask", "token_type_ids")


@dataclass(frozen=True, slots=True)
class ExportSettings:
    """Everything that decides the bytes of an exported file; part of the cache key."""

    quantized: bool
    opset: int = OPSET
    # Per-channel weight scales keep int8 closest to fp32 for this model (see eval/embedder_bench.py);
    # reduce_range only helps CPUs without VNNI, where it avoids saturating 16-bit accumulators.
    per_channel: bool = True
    reduce_range: bool = False
    # Regex over node names: the MatMuls it matches stay fp32 in an int8 export (per model:
    # index/models.py int8_fp32_nodes). Empty: every MatMul is quantized.
    fp32_nodes: str = ""
    version: int = EXPORT_VERSION

    def key(self) -> str:
        precision = "int8" + ("-pc" if self.per_channel else "") + ("-rr" if self.reduce_range else "")
        if self.quantized and self.fp32_nodes:
            # The rule itself is part of the key: another rule gives other bytes.
            precision += "-keep" + hashlib.sha256(self.fp32_nodes.encode()).hexdigest()[:8]
        return f"opset{self.opset}-{precision if self.quantized else 'fp32'}-v{self.version}"


def export_settings_for(model: str, quantized: bool) -> ExportSettings:
    """The export a model gets by default: its own fp32-kept nodes when quantized."""
    known = known_model(model)
    rule = known.int8_fp32_nodes if known and quantized else ""
    return ExportSettings(quantized=quantized, fp32_nodes=rule)


def cache_root() -> Path:
    return cache_dir("onnx")


def model_folder(model: str, expected_sha256: str | None) -> tuple[Path, str]:
    """The model's local folder and the sha256 of its model.safetensors (never a pickle file)."""
    resolved = resolve_model(model, expected_sha256)
    folder = Path(resolved.location)
    if not folder.is_dir():
        from huggingface_hub import snapshot_download

        try:
            folder = Path(snapshot_download(resolved.location, local_files_only=True))
        except Exception as exc:
            raise ModelError(f"model {model!r} is not in the local Hugging Face cache: {exc}") from exc
    weights = folder / "model.safetensors"
    if not weights.is_file():
        raise ModelError(f"{folder} has no model.safetensors; the ONNX backend exports only "
                         "from safetensors weights")
    return folder, resolved.verified_sha256 or sha256_file(weights)



def _is_valid(onnx_path: Path, meta_path: Path) -> bool:
    """The file exists and matches the sha256 recorded when it was written."""
    if not onnx_path.is_file() or not meta_path.is_file():
        return False
    try:
        recorded = json.loads(meta_path.read_text()).get("onnx_sha256")
    except (OSError, ValueError):
        return False
    return recorded == sha256_file(onnx_path)


def _export_fp32(folder: Path, target: Path) -> None:
    import torch
    from transformers import AutoModel, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    model = AutoModel.from_pretrained(folder, local_files_only=True, trust_remote_code=False,
                                      use_safetensors=True, attn_implementation="eager")
    model.eval()
    tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True, trust_remote_code=False)
    # Two texts of different lengths, so padding and the attention mask are part of the trace.
    sample = tokenizer(["a short one", "a somewhat longer sample sentence for tracing"],
                       padding=True, return_tensors="pt")
    names = [n for n in _INPUTS if n in sample]

    class LastHiddenState(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, *args: torch.Tensor) -> torch.Tensor:
            return self.model(**dict(zip(names, args))).last_hidden_state

    axes = {n: {0: "batch", 1: "sequence"} for n in names}
    axes["last_hidden_state"] = {0: "batch", 1: "sequence"}
    # The tracer's warnings are about Python-side branches on shapes, which these inputs cover.
    with torch.inference_mode(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # The TorchScript exporter needs no onnxscript and gives a plain graph ORT optimizes well.
        torch.onnx.export(LastHiddenState(), tuple(sample[n] for n in names), str(target),
                          input_names=names, output_names=["last_hidden_state"],
                          dynamic_axes=axes, opset_version=OPSET, do_constant_folding=True,
                          dynamo=False)


def fp32_node_names(onnx_path: Path, rule: str) -> list[str]:
    """The MatMul nodes of the graph whose names the rule matches."""
    import onnx

    if not rule:
        return []
    pattern = re.compile(rule)
    graph = onnx.load(str(onnx_path), load_external_data=False).graph
    return [n.name for n in graph.node if n.op_type == "MatMul" and pattern.search(n.name)]


def _quantize(source: Path, target: Path, settings: ExportSettings) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    excluded = fp32_node_names(source, settings.fp32_nodes)
    if settings.fp32_nodes and not excluded:
        # A rule that matches nothing would silently quantize everything.
        raise ModelError(f"no MatMul node of {source} matches the fp32 rule {settings.fp32_nodes!r}")

    # Its advice to "pre-process" first is logged on the root logger at WARNING on every export.
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        quantize_dynamic(str(source), str(target), weight_type=QuantType.QInt8,
                         per_channel=settings.per_channel, reduce_range=settings.reduce_range,
                         nodes_to_exclude=excluded)
    finally:
        root.setLevel(level)


def exported_model(folder: Path, model_sha256: str, settings: ExportSettings,
                   name: str = "model") -> Path:
    """Path of the cached .onnx for these settings, exported (atomically) if missing or corrupt."""
    directory = cache_root() / f"{_slug(name)}-{model_sha256[:16]}-{settings.key()}"
    onnx_path, meta_path = directory / "model.onnx", directory / "model.json"
    if _is_valid(onnx_path, meta_path):
        return onnx_path
    # Two processes starting together must not both spend time exporting the same files.
    with waiting_lock(directory / ".lock"):
        if _is_valid(onnx_path, meta_path):  # another process finished it while we waited
            return onnx_path
        log.info("exporting %s to ONNX (%s) in %s", name, settings.key(), directory)
        meta_path.unlink(missing_ok=True)
        # One fixed partial name is enough: the lock keeps other processes out meanwhile.
        with atomic_path(onnx_path) as partial:
            if settings.quantized:
                fp32 = exported_model(folder, model_sha256, ExportSettings(False, settings.opset),
                                      name)
                _quantize(fp32, partial, settings)
            else:
                _export_fp32(folder, partial)
            digest = sha256_file(partial)
        # Written last: a file without its record is treated as unfinished and exported again.
        write_atomic(meta_path, json.dumps({"onnx_sha256": digest, "model_sha256": model_sha256,
                                            "model": name, **asdict(settings)},
                                           indent=2, sort_keys=True) + "\n")
    return onnx_path


def _slug(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name.strip("/"))[-60:]


class OnnxEmbedder:
    """Same vectors as SentenceTransformerEmbedder (mean pooling, L2), run by onnxruntime."""

    def __init__(self, model: str = DEFAULT_MODEL, *, expected_sha256: str | None = None,
                 batch_size: int = 64, quantized: bool = True, threads: int = 0,
                 export: ExportSettings | None = None) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        folder, model_sha256 = model_folder(model, expected_sha256)
        base_name = canonical_name(model)
        # A different name from the torch embedder's: an index is never searched with vectors
        # from another backend.
        self.name = base_name + ("+onnx-int8" if quantized else "+onnx")
        self.settings = export or export_settings_for(model, quantized)
        if self.settings.quantized != quantized:
            raise ValueError("export settings disagree with quantized=")
        self.batch_size = batch_size
        self.max_tokens = _max_seq_length(folder)
        _check_mean_pooling(folder)
        try:
            self.onnx_path = exported_model(folder, model_sha256, self.settings, base_name)
        except OSError as exc:
            raise ModelError(f"cannot write the ONNX cache in {cache_root()}: {exc}; set "
                             "POLICYQA_CACHE_DIR to a writable folder") from exc
        except Exception as exc:  # an export failure is a model problem, with one clear error
            raise ModelError(f"cannot export {base_name!r} to ONNX: {exc}") from exc

        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.intra_op_num_threads = threads or len(os.sched_getaffinity(0))
        options.inter_op_num_threads = 1
        # Idle worker threads sleep instead of spinning: a spinning pool keeps both cores busy
        # for milliseconds after each query encoding, and the vector and BM25 searches that
        # follow it ran 3x slower (eval/bench.py, 100k chunks: vector search p50 4.1 -> 1.3 ms).
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = ort.InferenceSession(str(self.onnx_path), options,
                                            providers=["CPUExecutionProvider"])
        self._inputs = [i.name for i in self.session.get_inputs()]
        self.dimension = int(self.session.get_outputs()[0].shape[-1])

        # The shipped tokenizer.json truncates and pads to 128: both copies reset that.
        self._tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        padding = self._tokenizer.padding
        self._pad_id = int(padding["pad_id"]) if padding else 0
        self._tokenizer.no_padding()  # padded per batch, to the batch's longest, in _run
        self._tokenizer.enable_truncation(self.max_tokens)
        self._counter = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self._counter.no_padding()
        self._counter.no_truncation()

    def count_tokens(self, text: str) -> int:
        return len(self._counter.encode(text, add_special_tokens=True).ids)

    def encode(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        if not texts:
            return out
        encodings = self._tokenizer.encode_batch(texts, add_special_tokens=True)
        # Longest first, so each batch pads to a similar length and a too-big batch fails early.
        order = sorted(range(len(texts)), key=lambda i: -len(encodings[i].ids))
        for start in range(0, len(order), self.batch_size):
            rows = order[start:start + self.batch_size]
            out[rows] = self._run([encodings[i] for i in rows])
        return out

    def encode_query(self, text: str) -> np.ndarray:
        return self.encode([text])[0]

    def _run(self, encodings: list[Encoding]) -> np.ndarray:
        width = max(len(e.ids) for e in encodings)
        ids = np.full((len(encodings), width), self._pad_id, dtype=np.int64)
        mask = np.zeros_like(ids)
        types = np.zeros_like(ids)
        for row, e in enumerate(encodings):
            n = len(e.ids)
            ids[row, :n] = e.ids
            mask[row, :n] = 1
            types[row, :n] = e.type_ids
        feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
        hidden = self.session.run(None, {k: feeds[k] for k in self._inputs})[0]
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return (pooled / np.maximum(norms, 1e-12)).astype(np.float32)


def _max_seq_length(folder: Path) -> int:
    # sentence-transformers reads max_seq_length from here, not from the tokenizer's 128.
    config = folder / "sentence_bert_config.json"
    if config.is_file():
        value = json.loads(config.read_text()).get("max_seq_length")
        if value:
            return int(value)
    return int(json.loads((folder / "config.json").read_text())["max_position_embeddings"])


def _check_mean_pooling(folder: Path) -> None:
    pooling = folder / "1_Pooling" / "config.json"
    if pooling.is_file():
        config = json.loads(pooling.read_text())
        modes = sorted(k for k, v in config.items() if k.startswith("pooling_mode_") and v)
        if modes != ["pooling_mode_mean_tokens"]:
            raise ModelError(f"the ONNX backend does mean pooling only; {folder} uses {modes}")
