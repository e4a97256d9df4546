"""Settings precedence: flags over POLICYQA_* environment over the TOML file over defaults."""

from __future__ import annotations

from pathlib import Path

import pytest

from service.settings import SettingsError, load_settings


def test_precedence(tmp_path, monkeypatch):
    config = tmp_path / "policyqa.toml"
    config.write_text('port = 7000\nmodel = "from-file"\nindex_dir = "/srv/index"\n')
    monkeypatch.setenv("POLICYQA_PORT", "9000")
    monkeypatch.delenv("POLICYQA_MODEL", raising=False)  # conftest pins the suite's model
    settings = load_settings(config=config, model=None)
    assert settings.port == 9000  # env beats the file
    assert settings.model == "from-file"  # the file beats the default
    assert settings.index_dir == Path("/srv/index")
    assert load_settings(config=config, port=8001).port == 8001  # flags beat everything
    monkeypatch.setenv("POLICYQA_CONFIG", str(config))
    assert load_settings().model == "from-file"


def test_defaults_and_validation(monkeypatch):
    for name in ("POLICYQA_PORT", "POLICYQA_CONFIG", "POLICYQA_ADMIN_KEY"):
        monkeypatch.delenv(name, raising=False)
    settings = load_settings()
    assert settings.index_dir == Path(".policyqa") and settings.admin_key is None
    assert settings.cors_origins == [] and settings.embedder_backend == "onnx-int8"
    with pytest.raises(SettingsError, match="port"):
        load_settings(port=70000)
    with pytest.raises(SettingsError, match="embedder_backend"):
        load_settings(embedder_backend="tpu")
    monkeypatch.setenv("POLICYQA_ADMIN_KEY", "")
    assert load_settings().admin_key is None  # an empty key does not open admin endpoints
    with pytest.raises(SettingsError, match="unknown"):
        load_settings(config=None, unknown=1)


def test_store_config_carries_every_store_setting(monkeypatch):
    from index.stores.base import StoreConfig

    for name in ("POLICYQA_CONFIG", "POLICYQA_VECTOR_STORE", "POLICYQA_FAISS_INDEX",
                 "POLICYQA_FAISS_EF_SEARCH", "POLICYQA_MILVUS_URI", "POLICYQA_MILVUS_TOKEN",
                 "POLICYQA_MILVUS_PREFIX", "POLICYQA_MILVUS_INDEX"):
        monkeypatch.delenv(name, raising=False)
    assert load_settings().store_config() == StoreConfig()  # the same defaults in both
    # The variables the Milvus store used to read by itself keep their names.
    monkeypatch.setenv("POLICYQA_VECTOR_STORE", "milvus")
    monkeypatch.setenv("POLICYQA_MILVUS_URI", "http://milvus.example:19530")
    monkeypatch.setenv("POLICYQA_MILVUS_TOKEN", "user:secret")
    monkeypatch.setenv("POLICYQA_MILVUS_PREFIX", "team_a")
    monkeypatch.setenv("POLICYQA_MILVUS_INDEX", "hnsw")
    config = load_settings(faiss_index="hnsw", faiss_ef_search=64).store_config()
    assert config == StoreConfig(kind="milvus", faiss_index="hnsw", faiss_ef_search=64,
                                 milvus_uri="http://milvus.example:19530",
                                 milvus_token="user:secret", milvus_prefix="team_a",
                                 milvus_index="HNSW")
    assert "secret" not in repr(config)
    assert config.for_kind("faiss").milvus_prefix == "team_a"
    with pytest.raises(SettingsError, match="milvus_prefix"):
        load_settings(milvus_prefix="")


def test_ef_search_bounds_are_the_faiss_stores():
    from index.stores.faiss_store import EF_SEARCH_MAX, EF_SEARCH_MIN

    assert load_settings(faiss_ef_search=EF_SEARCH_MIN).faiss_ef_search == EF_SEARCH_MIN
    assert load_settings(faiss_ef_search=EF_SEARCH_MAX).faiss_ef_search == EF_SEARCH_MAX
    for outside in (EF_SEARCH_MIN - 1, EF_SEARCH_MAX + 1):
        with pytest.raises(SettingsError, match="faiss_ef_search"):
            load_settings(faiss_ef_search=outside)


def test_loading_settings_imports_no_vector_store():
    import subprocess
    import sys

    code = ("import sys; from service.settings import load_settings; "
            "load_settings().store_config(); "
            "print(sorted(m for m in sys.modules if m.startswith('index.stores.') "
            "and m != 'index.stores.base'))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert done.stdout.strip() == "[]"


def test_ocr_settings_reach_the_reader_settings(monkeypatch):
    for name in ("POLICYQA_OCR", "POLICYQA_TESSERACT_CMD", "POLICYQA_OCR_LANGUAGES",
                 "POLICYQA_OCR_DPI", "POLICYQA_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    ocr = load_settings().ocr_settings()
    assert (ocr.enabled, ocr.tesseract_cmd, ocr.languages, ocr.dpi) == (True, "tesseract", "eng", 300)
    monkeypatch.setenv("POLICYQA_OCR", "false")
    monkeypatch.setenv("POLICYQA_TESSERACT_CMD", "/opt/tesseract/bin/tesseract")
    monkeypatch.setenv("POLICYQA_OCR_LANGUAGES", "eng+fra")
    monkeypatch.setenv("POLICYQA_OCR_DPI", "200")
    ocr = load_settings().ocr_settings()
    assert (ocr.enabled, ocr.tesseract_cmd, ocr.languages, ocr.dpi) == \
        (False, "/opt/tesseract/bin/tesseract", "eng+fra", 200)
    assert ocr.fingerprint() == "ocr=off"
    with pytest.raises(SettingsError, match="ocr_languages"):
        load_settings(ocr_languages="eng; rm -rf /")
    with pytest.raises(SettingsError, match="ocr_dpi"):
        load_settings(ocr_dpi=20)
