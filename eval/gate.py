"""The CI regression gate: the treaty set's questions over a fixed document subset, vs thresholds."""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

from eval.datasets import EvalSet, load_set
from eval.judges import QuoteJudge
from eval.retrieval import EngineRetriever
from eval.runner import run_mode

REPO = Path(__file__).resolve().parents[1]
TREATY_SET = REPO / "eval" / "sets" / "treaties.jsonl"
THRESHOLDS = REPO / "eval" / "thresholds.json"

# About 1,200 chunks (minutes to embed on 2 cores, not the full corpus's ~7,800) that still
# cover every reader (markdown, PDF, XML, text) and keep look-alike instruments side by side
# (UNTOC and its two protocols; the Refugee Convention as markdown and as the UNHCR PDF),
# so that the gate still measures picking the right document, not only the right passage.
GATE_DOCUMENTS: tuple[str, ...] = (
    "treaties/refugee_convention_1951.md",
    "treaties/smuggling_of_migrants_protocol_2000.md",
    "treaties/palermo_trafficking_protocol_2000.md",
    "treaties/untoc_2000.md",
    "pdf/refugee_convention_and_protocol_unhcr.pdf",
    "pdf/eu_dublin_iii_regulation_604_2013_oj_l180.pdf",
    "pdf/eu_qualification_regulation_2024_1347_oj.pdf",
    "legislation/canada/ca_extradition_act_E-23.01.xml",
    "legislation/canada/ca_mutual_legal_assistance_criminal_matters_act_M-13.6.xml",
    "articles/cross_border_enforcement_of_immigration_laws.txt",
)
GATE_MODE = "hybrid"
GATE_KS = (1, 3, 5, 10)
GATE_METRICS = ("recall@5", "mrr@10", "ndcg@10", "hit@5")
MARGIN = 0.03


def gate_set(treaty_set: Path = TREATY_SET) -> EvalSet:
    """The questions whose gold documents all lie in GATE_DOCUMENTS."""
    full = load_set(treaty_set)
    chosen = set(GATE_DOCUMENTS)
    queries = [q for q in full.queries if {g.document for g in q.quotes} <= chosen]
    return EvalSet(f"{full.name}-gate", full.kind, full.path, queries)


def copy_subset(shared_corpus: Path, target: Path) -> Path:
    for rel in GATE_DOCUMENTS:
        (target / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shared_corpus / rel, target / rel)
    return target


def build_engine(shared_corpus: Path, workdir: Path, embedder=None):
    """The gate's documents indexed in `workdir` with the settings in force (the vector store
    POLICYQA_VECTOR_STORE names, FAISS by default), an engine on that index, and the build report."""
    from index.builder import IndexBuilder
    from service.engine import AnswerEngine, load_embedder
    from service.settings import load_settings

    corpus = copy_subset(shared_corpus, workdir / "corpus")
    settings = load_settings(corpus_dir=corpus, index_dir=workdir / "index")
    embedder = embedder or load_embedder(settings)
    report = IndexBuilder(settings.index_dir, embedder, settings.chunk_settings(),
                          store_config=settings.store_config(),
                          ocr=settings.ocr_settings()).build(corpus)
    engine = AnswerEngine(settings, embedder)
    engine.refresh()
    return engine, report


def measure(shared_corpus: Path, workdir: Path, embedder=None, built=None
            ) -> tuple[dict[str, float], dict]:
    """Evaluates the gate questions in GATE_MODE on the gate index: `built` (engine, report)
    from build_engine, or one built in `workdir`."""
    engine, report = built or build_engine(shared_corpus, workdir, embedder)
    retriever = EngineRetriever(engine)
    eval_set = gate_set()
    judge = QuoteJudge(eval_set.queries, retriever, GATE_KS, 100)
    result = run_mode(eval_set, retriever, judge, GATE_MODE, progress=False)
    info = {"questions": len(eval_set.queries), "documents": report.documents,
            "model": engine.embedder.name, "store": engine.settings.vector_store,
            "chunks": report.chunks, "unlocated_quotes": judge.unlocated,
            "seconds": result.seconds, "questions_detail": result.questions}
    return result.metrics, info


def load_thresholds(path: Path = THRESHOLDS) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def failures(metrics: dict[str, float], thresholds: dict) -> list[str]:
    """One line per metric below its threshold."""
    return [f"{name} = {metrics.get(name, 0.0):.4f} < threshold {floor:.4f} "
            f"(measured {thresholds['measured'].get(name)})"
            for name, floor in thresholds["thresholds"].items()
            if metrics.get(name, 0.0) < floor]


def record(shared_corpus: Path, workdir: Path, path: Path = THRESHOLDS, built=None) -> dict:
    """Measures the gate (on `built`, as in measure, or a new build) and writes
    thresholds = measured - MARGIN."""
    metrics, info = measure(shared_corpus, workdir, built=built)
    data = {
        "set": "eval/sets/treaties.jsonl (questions whose gold documents are all in the subset)",
        "mode": GATE_MODE, "documents": list(GATE_DOCUMENTS), "questions": info["questions"],
        "chunks": info["chunks"], "margin": MARGIN,
        "measured": {m: metrics[m] for m in GATE_METRICS},
        "thresholds": {m: round(max(metrics[m] - MARGIN, 0.0), 4) for m in GATE_METRICS},
        "date": time.strftime("%Y-%m-%d"),
        "command": "python -m eval.gate --record --shared-corpus " + str(shared_corpus),
        "model": f"{info['model']} (default chunking)",
    }
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    return data


def main(argv: list[str] | None = None) -> int:
    import tempfile

    parser = argparse.ArgumentParser(prog="python -m eval.gate", description=__doc__)
    parser.add_argument("--shared-corpus", type=Path, default=REPO.parent / "shared" / "corpus")
    parser.add_argument("--record", action="store_true", help="rewrite eval/thresholds.json")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="policyqa-gate-") as tmp:
        if args.record:
            print(json.dumps(record(args.shared_corpus, Path(tmp)), indent=2))
            return 0
        metrics, info = measure(args.shared_corpus, Path(tmp))
    problems = failures(metrics, load_thresholds())
    print(json.dumps({"metrics": metrics, "questions": info["questions"],
                      "chunks": info["chunks"]}, indent=2))
    for p in problems:
        print("FAIL " + p, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
