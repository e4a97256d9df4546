"""The atomic writer: a file appears whole or not at all, fsynced before it is renamed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from ingest import files
from ingest.files import AtomicFile, atomic_file, atomic_path, partial_path, write_atomic
from tests.support import REPO


def test_write_atomic_writes_text_and_bytes(tmp_path):
    write_atomic(tmp_path / "a.txt", "café\n")
    write_atomic(tmp_path / "b.bin", b"\x00\x01")
    assert (tmp_path / "a.txt").read_text(encoding="utf-8") == "café\n"
    assert (tmp_path / "b.bin").read_bytes() == b"\x00\x01"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt", "b.bin"]


def test_a_failed_write_keeps_the_old_file_and_leaves_no_partial(tmp_path):
    target = tmp_path / "plan.json"
    write_atomic(target, "old")
    with pytest.raises(RuntimeError), atomic_file(target) as f:
        f.write(b"new, but half")
        raise RuntimeError("disk on fire")
    assert target.read_text() == "old"
    assert not partial_path(target).exists()


def test_the_partial_is_fsynced_before_it_replaces_the_target(tmp_path, monkeypatch):
    calls: list[str] = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(os, "fsync", lambda fd: (calls.append("fsync"), real_fsync(fd))[1])
    monkeypatch.setattr(os, "replace",
                        lambda a, b: (calls.append(f"replace {os.path.basename(b)}"),
                                      real_replace(a, b))[1])
    write_atomic(tmp_path / "CURRENT", "gen-000002")
    with atomic_path(tmp_path / "model.onnx") as partial:
        partial.write_bytes(b"onnx")  # as an exporter given a path would
    assert calls == ["fsync", "replace CURRENT", "fsync", "replace model.onnx"]
    assert (tmp_path / "model.onnx").read_bytes() == b"onnx"


def test_atomic_path_removes_what_a_failed_exporter_left(tmp_path):
    with pytest.raises(ValueError), atomic_path(tmp_path / "model.onnx") as partial:
        partial.write_bytes(b"half an export")
        raise ValueError("export failed")
    assert list(tmp_path.iterdir()) == []


def test_atomic_files_open_together_commit_or_discard_one_by_one(tmp_path):
    kept, dropped = AtomicFile(tmp_path / "shard-0.jsonl", text=True), AtomicFile(
        tmp_path / "shard-1.jsonl", text=True)
    kept.file.write("{}\n")
    dropped.file.write("{}\n")
    kept.commit()
    dropped.discard()
    assert [p.name for p in tmp_path.iterdir()] == ["shard-0.jsonl"]


def test_a_writer_killed_mid_write_leaves_the_old_file(tmp_path):
    target = tmp_path / "CURRENT"
    write_atomic(target, "gen-000001")
    script = ("import os, signal, sys\nfrom pathlib import Path\n"
              "from ingest.files import atomic_file\n"
              "with atomic_file(Path(sys.argv[1])) as f:\n"
              "    f.write(b'gen-0000')\n    f.flush()\n"
              "    os.kill(os.getpid(), signal.SIGKILL)\n")
    done = subprocess.run([sys.executable, "-c", script, str(target)],
                          env={**os.environ, "PYTHONPATH": str(REPO)})
    assert done.returncode == -signal.SIGKILL
    assert target.read_text() == "gen-000001"
    assert partial_path(target).read_text() == "gen-0000"  # the next writer replaces it
    write_atomic(target, "gen-000002")
    assert target.read_text() == "gen-000002" and not partial_path(target).exists()


def test_fsync_dir_accepts_a_folder(tmp_path):
    files.fsync_dir(tmp_path)
