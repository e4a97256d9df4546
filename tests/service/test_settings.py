"""Settings precedence: flags over POLICYQA_* environment over the TOML file over defaults."""

from __future__ import annotations

from pathlib import Path

import pytest

from service.settings import SettingsError, load_settings


def test_precedence(tmp_path, monkeypatch):
    config = tmp_path / "policyqa.toml"
    config.write_text('port = 7000\nmodel = "from-file"\nindex_dir = "/srv/index"\n')
    monkeypatch.setenv("POLICYQA_PORT", "9000")
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
