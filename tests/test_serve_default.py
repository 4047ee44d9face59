"""Issue 10 (9): ``assetmap serve`` listens on this machine only unless told otherwise."""

from __future__ import annotations

from assetmap.cli import _serve, main


def test_serve_listens_on_loopback_by_default(monkeypatch, tmp_path, capsys):
    calls = []
    monkeypatch.setenv("ASSETMAP_SECRETS_FILE", str(tmp_path / "secrets.toml"))
    monkeypatch.setattr(_serve, "port_free", lambda address, port: True)
    monkeypatch.setattr(_serve.subprocess, "call", lambda cmd, **kw: calls.append(cmd) or 0)
    assert main(["serve", "--headless", "--port", "8599"]) == 0
    cmd = calls[0]
    assert cmd[cmd.index("--server.address") + 1] == "127.0.0.1"
    assert "note: listening on" not in capsys.readouterr().err


def test_serve_on_all_interfaces_says_so(monkeypatch, tmp_path, capsys):
    calls = []
    monkeypatch.setenv("ASSETMAP_SECRETS_FILE", str(tmp_path / "secrets.toml"))
    monkeypatch.setattr(_serve, "port_free", lambda address, port: True)
    monkeypatch.setattr(_serve.subprocess, "call", lambda cmd, **kw: calls.append(cmd) or 0)
    assert main(["serve", "--headless", "--address", "0.0.0.0"]) == 0
    assert "reachable from other machines" in capsys.readouterr().err
    assert not (tmp_path / "secrets.toml").exists()  # no first-run account on a public address
