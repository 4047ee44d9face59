"""``assetmap serve``: the first-run administrator (loopback only, printed once, hash only)
and a clear exit code when the port is taken. Streamlit itself is not started here
(``subprocess.call`` is replaced); the browser journey in tests/e2e signs the admin in."""

from __future__ import annotations

import socket
import stat
import tomllib

import pytest

from assetmap.auth import authenticate, first_run_admin, is_loopback
from assetmap.cli import main


@pytest.fixture
def launched(monkeypatch, tmp_path):
    """Run ``serve`` without starting Streamlit; records the command it would run."""
    calls: list[list[str]] = []
    monkeypatch.setattr(
        "assetmap.cli._serve.subprocess.call", lambda cmd, **kw: calls.append(cmd) or 0
    )
    monkeypatch.setenv("ASSETMAP_SECRETS_FILE", str(tmp_path / "secrets.toml"))
    return calls


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize(
    ("address", "expected"),
    [("127.0.0.1", True), ("127.0.1.1", True), ("::1", True), ("localhost", True),
     ("0.0.0.0", False), ("192.168.1.20", False), ("::", False), ("example.org", False)],
)  # fmt: skip
def test_loopback_addresses(address, expected):
    assert is_loopback(address) is expected


def test_first_run_creates_one_admin_and_stores_only_the_hash(tmp_path):
    path = tmp_path / ".streamlit" / "secrets.toml"
    password = first_run_admin(path)
    assert password and len(password) >= 16
    text = path.read_text(encoding="utf-8")
    assert password not in text
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    accounts = tomllib.loads(text)["accounts"]
    p = authenticate(accounts, "admin", password)
    assert p is not None and p.role == "admin"
    assert authenticate(accounts, "admin", password + "x") is None
    assert first_run_admin(path) is None  # never a second time
    assert path.read_text(encoding="utf-8") == text


def test_no_first_run_account_when_staff_exist(tmp_path):
    path = tmp_path / "secrets.toml"
    path.write_text('[staff."lee@district.example.org"]\nrole = "leader"\n', encoding="utf-8")
    assert first_run_admin(path) is None
    path.write_text('[auth]\ncookie_secret = "x"\n', encoding="utf-8")
    assert first_run_admin(path) is not None  # OIDC configured but no staff role yet
    assert "[auth]" in path.read_text(encoding="utf-8")  # other settings kept


def test_serve_prints_the_password_once_on_loopback(launched, capsys, tmp_path):
    port = _free_port()
    assert main(["serve", "--port", str(port), "--headless"]) == 0
    out = capsys.readouterr().out
    line = next(x for x in out.splitlines() if x.strip().startswith("Password:"))
    password = line.split(":", 1)[1].strip()
    accounts = tomllib.loads((tmp_path / "secrets.toml").read_text(encoding="utf-8"))["accounts"]
    assert authenticate(accounts, "admin", password) is not None
    cmd = launched[0]
    assert cmd[cmd.index("--server.address") + 1] == "127.0.0.1"
    assert cmd[cmd.index("--secrets.files") + 1] == str(tmp_path / "secrets.toml")
    assert main(["serve", "--port", str(port), "--headless"]) == 0
    assert "Password" not in capsys.readouterr().out  # printed once only


def test_serve_on_a_public_address_creates_no_account(launched, capsys, tmp_path):
    assert main(["serve", "--port", str(_free_port()), "--address", "0.0.0.0"]) == 0
    captured = capsys.readouterr()
    assert "Password" not in captured.out
    assert "no first-run account" in captured.err
    assert not (tmp_path / "secrets.toml").exists()


def test_serve_on_a_busy_port_exits_2_with_a_message(launched, capsys):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        port = s.getsockname()[1]
        assert main(["serve", "--port", str(port)]) == 2
    err = capsys.readouterr().err
    assert f"port {port} on 127.0.0.1 is already in use" in err and "--port" in err
    assert "Traceback" not in err and not launched
