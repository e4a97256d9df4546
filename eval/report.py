"""Evaluation output: results.json, a markdown report, a recall@k plot and a stdout summary."""

from __future__ import annotations

import json
import re
from pathlib import Path

from eval.runner import ModeResult

SUMMARY_METRICS = ("recall@1", "recall@5", "recall@10", "recall@100", "mrr@10", "ndcg@10",
                   "map@100", "hit@1", "precision@1", "precision@8", "recall@8", "recall@64",
                   "precision@64")


def _k_of(name: str) -> int:
    return int(name.split("@")[1])


def summary_columns(metrics: dict[str, float]) -> list[str]:
    return [m for m in SUMMARY_METRICS if m in metrics]


def summary_table(results: list[ModeResult]) -> str:
    """A fixed-width table of the main metrics, one row per mode, for the terminal."""
    cols = summary_columns(results[0].metrics)
    lines = [f"{'mode':<8} " + " ".join(f"{c:>12}" for c in cols) + f" {'seconds':>8}"]
    for r in results:
        lines.append(f"{r.mode:<8} " + " ".join(f"{r.metrics[c]:>12.4f}" for c in cols)
                     + f" {r.seconds:>8.1f}")
    return "\n".join(lines)


def write_json(path: Path, header: dict, results: list[ModeResult], extra: dict) -> None:
    data = {**header, **extra,
            "modes": {r.mode: {"metrics": r.metrics, "seconds": r.seconds, "by_tag": r.by_tag,
                               "questions": r.questions} for r in results}}
    path.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def _md_table(header: list[str], rows: list[list[str]]) -> list[str]:
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header),
            *("| " + " | ".join(r) + " |" for r in rows)]


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def markdown(header: dict, results: list[ModeResult], worst: dict[str, list[dict]],
             extra: dict) -> str:
    out = [f"# Retrieval evaluation: {header['set']}", "",
           f"- set: `{header['path']}` ({header['format']}, {header['questions']} questions)",
           f"- index: `{header['index'].get('dir')}` ({header['index'].get('documents')} "
           f"documents, {header['index'].get('chunks')} chunks, model "
           f"{header['index'].get('model')})",
           f"- chunks retrieved per question: {header['depth']}",
           f"- command: `{header['command']}`", f"- date: {header['date']}", ""]
    names = list(results[0].metrics)
    out += ["## Metrics", ""]
    out += _md_table(["metric", *(r.mode for r in results)],
                     [[n, *(f"{r.metrics[n]:.4f}" for r in results)] for n in names])
    out += ["", "Seconds per mode: " + ", ".join(f"{r.mode} {r.seconds:.0f}" for r in results), ""]
    for note_key in ("unlocated_quotes", "offset_check"):
        if extra.get(note_key):
            out += [f"## {note_key.replace('_', ' ').capitalize()}", "", "```",
                    json.dumps(extra[note_key], indent=1, ensure_ascii=False)[:4000], "```", ""]
    for r in results:
        if r.by_tag:
            cols = [c for c in ("recall@5", "recall@10", "mrr@10", "ndcg@10") if c in r.metrics]
            out += [f"## By tag ({r.mode})", ""]
            out += _md_table(["tag", "questions", *cols],
                             [[t, str(int(v["questions"])), *(f"{v[c]:.3f}" for c in cols)]
                              for t, v in r.by_tag.items()])
            out.append("")
    for mode, rows in worst.items():
        out += [f"## Worst questions ({mode})", ""]
        for q in rows:
            m = q["metrics"]
            shown = ", ".join(f"{k} {v:.2f}" for k, v in m.items()
                              if k in ("recall@10", "mrr@10", "ndcg@10", "recall@8"))
            out += [f"### {q['id']}: {_cell(q['question'])}", "",
                    f"{shown}; first relevant rank: {q['first_relevant_rank']}", "", "Gold:"]
            for g in q["gold"][:4]:
                if isinstance(g, dict):
                    quote = f" \"{_cell(g['quote'][:120])}\"" if g.get("quote") else ""
                    out.append(f"- `{g['document']}` {g.get('span')}{quote}")
                else:
                    out.append(f"- `{g}`")
            out += ["", "Retrieved instead:"]
            for p in q["retrieved"]:
                mark = " (relevant)" if p["relevant"] else ""
                out.append(f"{p['rank']}. `{p['document']}` § {_cell(p['section'] or '-')}"
                           f"{mark}: {_cell(p['text'])}")
            out.append("")
    return "\n".join(out) + "\n"


def plot(path: Path, results: list[ModeResult], title: str) -> None:
    """recall@k (and, when reported, precision@k) against k, one line per mode."""
    import matplotlib

    matplotlib.use("Agg")  # no display: CI and servers
    import matplotlib.pyplot as plt

    families = [f for f in ("recall", "precision")
                if any(re.fullmatch(f + r"@\d+", m) for m in results[0].metrics)]
    fig, axes = plt.subplots(1, len(families), figsize=(6 * len(families), 4.2), squeeze=False)
    for ax, family in zip(axes[0], families):
        for r in results:
            names = sorted((m for m in r.metrics if re.fullmatch(family + r"@\d+", m)), key=_k_of)
            ks = [_k_of(m) for m in names]
            ax.plot(ks, [r.metrics[m] for m in names], marker="o", label=r.mode)
        ax.set_xscale("log", base=2)
        ax.set_xticks(ks, [str(k) for k in ks])
        ax.minorticks_off()
        ax.set_xlabel("k")
        ax.set_ylabel(f"{family}@k")
        ax.set_ylim(bottom=0, top=1.0 if family == "recall" else None)
        ax.grid(True, alpha=0.3)
        ax.legend()
        ax.set_title(f"{title}: {family}@k")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
