"""The typed manifest, fingerprint and plan: round trips, and the files older versions wrote."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from index.builder import BuildReport
from index.generations import MANIFEST_FILE, read_manifest
from index.manifest import MANIFEST_VERSION, Fingerprint, Manifest, ManifestError, StagedBuild
from index.staged import PLAN_VERSION, Plan

# A manifest.json exactly as the builds before the typed manifest wrote it.
OLD_MANIFEST = {
    "fingerprint": {"format_version": 1, "model": "sentence-transformers/all-MiniLM-L6-v2",
                    "dimension": 384, "chunking": "v3,target=350,overlap=50,tiny=40,prefix=60",
                    "store": "faiss", "store_format": 2},
    "next_chunk_id": 812, "documents": 3, "chunks": 811,
    "model": "sentence-transformers/all-MiniLM-L6-v2", "corpus": "/work/shared/corpus",
    "skipped": [{"path": "notes.docx", "reason": "unsupported format"}], "truncated_chunks": 0,
    "warnings": [{"path": "a.pdf", "warning": "page 3 has no text"}], "created": 1764700000.5,
    "staged_build": {"build_id": "abc", "shards": 2}, "generation": 7}


def test_an_old_manifest_on_disk_still_loads(tmp_path):
    (tmp_path / MANIFEST_FILE).write_text(json.dumps(OLD_MANIFEST, indent=2))
    manifest = read_manifest(tmp_path)
    assert manifest.generation == 7 and manifest.chunks == 811 and manifest.next_chunk_id == 812
    assert manifest.fingerprint.store == "faiss" and manifest.fingerprint.store_format == 2
    assert manifest.staged_build == StagedBuild("abc", 2)
    assert manifest.skipped == OLD_MANIFEST["skipped"] and manifest.version == 1
    # Written back, it says which version it is and loses nothing.
    again = manifest.to_dict()
    assert again.pop("manifest_version") == 1
    assert again == OLD_MANIFEST


def test_manifest_round_trip_keeps_unknown_keys():
    manifest = Manifest.from_dict({**OLD_MANIFEST, "scaled_from": "/somewhere"})
    assert manifest.extra == {"scaled_from": "/somewhere"}
    fresh = replace(manifest, version=MANIFEST_VERSION, staged_build=None)
    data = fresh.to_dict()
    assert data["manifest_version"] == MANIFEST_VERSION and "staged_build" not in data
    assert data["scaled_from"] == "/somewhere"
    assert Manifest.from_dict(data) == fresh


def test_fingerprints_from_before_store_formats_and_stores():
    old = Fingerprint.from_dict({"format_version": 1, "model": "m", "dimension": 384,
                                 "chunking": "c"})
    assert (old.store, old.store_format) == ("faiss", 1)
    assert Fingerprint.from_dict(old.to_dict()) == old
    assert old.vectors_fit(replace(old, chunking="other"))  # rechunked, vectors kept
    assert not old.vectors_fit(replace(old, store_format=2))
    assert not old.vectors_fit(replace(old, format_version=2))
    assert old.differences(replace(old, model="n", store="milvus")) == ["model", "store"]


@pytest.mark.parametrize("bad", [
    {**OLD_MANIFEST, "manifest_version": MANIFEST_VERSION + 1},
    {k: v for k, v in OLD_MANIFEST.items() if k != "fingerprint"},
    {k: v for k, v in OLD_MANIFEST.items() if k != "chunks"},
    {**OLD_MANIFEST, "fingerprint": {"model": "m"}},
])
def test_manifests_this_version_cannot_read_are_refused_with_advice(bad):
    with pytest.raises(ManifestError, match="rebuild|fingerprint|incomplete"):
        Manifest.from_dict(bad)


def test_a_torn_manifest_is_a_manifest_error(tmp_path):
    (tmp_path / MANIFEST_FILE).write_text('{"fingerprint": ')
    with pytest.raises(ManifestError, match="rebuild the index"):
        read_manifest(tmp_path)


# plan.json as the staged builds before the typed plan wrote it (and before store formats).
OLD_PLAN = {"build_id": "f00", "created": 1764700000.0, "corpus": "/c",
            "fingerprint": {"format_version": 1, "model": "m", "dimension": 384, "chunking": "c",
                            "store": "faiss"},
            "shards": 2, "shard_sizes": [3, 2], "chunks_to_embed": 5, "next_chunk_id": 6,
            "report": BuildReport(generation=0, documents=0, chunks=0, read_documents=2,
                                  skipped=[{"path": "x", "reason": "y"}]).to_dict()}


def test_an_old_plan_still_loads_and_round_trips():
    plan = Plan.from_dict(OLD_PLAN)
    assert plan.version == 1 and plan.fingerprint.store_format == 1
    assert plan.report.read_documents == 2 and plan.shard_sizes == [3, 2]
    data = plan.to_dict()
    assert data.pop("plan_version") == 1
    assert data == {**OLD_PLAN, "fingerprint": {**OLD_PLAN["fingerprint"], "store_format": 1}}
    current = replace(plan, version=PLAN_VERSION)
    assert Plan.from_dict(current.to_dict()) == current


def test_the_plan_report_is_copied_for_finish():
    plan = Plan.from_dict(OLD_PLAN)
    report = plan.build_report()
    report.skipped.append({"path": "z", "reason": "later"})
    assert report.embedded_chunks == 5 and len(plan.report.skipped) == 1


def test_a_plan_without_its_report_is_refused():
    with pytest.raises(ManifestError, match="incomplete"):
        Plan.from_dict({k: v for k, v in OLD_PLAN.items() if k != "report"})
