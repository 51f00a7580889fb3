"""``mock-as serve`` as people and other languages' suites use it: a real process, curl, signals."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner

from mock_as.cli import main
from tests.helpers import DOCS_FORM

DOCS_CURL = [
    "curl", "--silent", "--request", "POST", "--data", "grant_type=password", "--data", "username=demo",
    "--data", "password=Ch4ng31t", "--data", "scope=write", "--data", "client_id=myClient",
    "--data", "client_secret=forgerock",
]  # fmt: skip
DOCS_OUTPUT = re.compile(
    r'^\{"access_token":"[A-Za-z0-9_-]{27}","scope":"write","token_type":"Bearer","expires_in":3599\}$'
)


@contextmanager
def serve(*args: str) -> Iterator[tuple[subprocess.Popen[str], str, list[str]]]:
    """Run ``mock-as serve`` on a free port; yield the process, its base URL and its banner."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "mock_as", "serve", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        banner: list[str] = []
        base = None
        for line in proc.stdout:
            banner.append(line.rstrip("\n"))
            if line.startswith("base URL"):
                base = line.split()[-1]
            if line.startswith("ready"):
                break
        assert base, banner
        yield proc, base, banner
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            proc.wait(10)
        proc.communicate()  # drain and close the pipes


def curl(url: str) -> str:
    return subprocess.run([*DOCS_CURL, url], capture_output=True, text=True, check=True, timeout=10).stdout


needs_curl = pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")


@needs_curl
def test_documented_curl_verbatim():
    with serve("--seed", "3") as (_, base, banner):
        out = curl(f"{base}/oauth2/realms/root/access_token")
        assert DOCS_OUTPUT.match(out), out
        out = curl(f"{base}/oauth2/realms/root/realms/customers/access_token")
        assert DOCS_OUTPUT.match(out), out
        # the banner prints the ready-to-paste documented example
        assert any('--data "grant_type=password"' in line for line in banner)
        assert any(line.strip() == f"{base}/oauth2/realms/root/access_token" for line in banner)


@needs_curl
def test_same_seed_same_tokens_across_runs():
    runs = []
    for _ in range(2):
        with serve("--seed", "42") as (_, base, _banner):
            runs.append([curl(f"{base}/oauth2/realms/root/access_token") for _ in range(3)])
    assert runs[0] == runs[1]
    assert len(set(runs[0])) == 3


def test_banner_lists_realms_clients_users_and_seed():
    with serve("--seed", "9", "--users", "2") as (_, _base, banner):
        text = "\n".join(banner)
        assert "seed       9" in text
        assert "--seed 9" in text
        assert "realm /customers" in text
        assert "client myClient  secret forgerock" in text
        assert "user   demo  password Ch4ng31t" in text
        assert len([line for line in banner if line.startswith("  user")]) == 6


def test_banner_links_the_inspector():
    with serve("--seed", "9", "--users", "1") as (_, base, banner):
        [line] = [line for line in banner if line.startswith("inspector")]
        url = line.split()[1]
        assert url == base.removesuffix("/openam") + "/__mock_as__/ui"
        page = requests.get(url, timeout=10)
        assert page.status_code == 200
        assert page.headers["Content-Type"] == "text/html; charset=utf-8"
        assert "<title>mock-as inspector</title>" in page.text


def test_run_without_seed_prints_one_that_repeats_it():
    with serve("--users", "1") as (_, _base, banner):
        seed = next(line.split()[1] for line in banner if line.startswith("seed"))
        users = [line for line in banner if line.startswith("  user")]
    with serve("--users", "1", "--seed", seed) as (_, _base, banner):
        assert [line for line in banner if line.startswith("  user")] == users


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "Ctrl-C"])
def test_signals_stop_cleanly(signum):
    import requests

    with serve() as (proc, base, _banner):
        assert requests.post(f"{base}/oauth2/access_token", data=DOCS_FORM, timeout=10).status_code == 200
        proc.send_signal(signum)
        _, err = proc.communicate(timeout=10)
        assert proc.returncode == 0
        assert "Traceback" not in err
        assert "mock-as stopped" in err


def test_context_path_option():
    import requests

    with serve("--context-path", "am") as (_, base, _banner):
        assert base.endswith("/am")
        r = requests.post(
            f"{base}/oauth2/realms/root/access_token",
            data={"grant_type": "password", "username": "demo", "password": "Ch4ng31t",
                  "client_id": "myClient", "client_secret": "forgerock"},
            timeout=10,
        )  # fmt: skip
        assert r.status_code == 200


def test_config_file(tmp_path: Path):
    import requests

    cfg = tmp_path / "mock.toml"
    cfg.write_text(
        """
seed = 5
users = 0
[[realms]]
name = "/"
access_token_lifetime = 60
[[realms.clients]]
client_id = "app"
secret = "s3cret"
scopes = ["read"]
default_scopes = ["read"]
grant_types = ["password", "refresh_token"]
[[realms.users]]
username = "bjensen"
password = "Ch4ng31t"
attributes = { mail = "bjensen@example.com" }
"""
    )
    with serve("--config", str(cfg)) as (_, base, banner):
        assert "seed       5" in "\n".join(banner)
        r = requests.post(
            f"{base}/oauth2/access_token",
            data={"grant_type": "password", "username": "bjensen", "password": "Ch4ng31t",
                  "client_id": "app", "client_secret": "s3cret"},
            timeout=10,
        )  # fmt: skip
        body = r.json()
        assert body["expires_in"] == 59
        assert body["scope"] == "read"
        assert "refresh_token" in body


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            "[[realms]]\nname = '/'\nacess_token_lifetime = 60\n",
            "realms[0].acess_token_lifetime: unknown key",
        ),
        (
            "[[realms]]\naccess_token_lifetime = 'long'\n",
            "realms[0].access_token_lifetime: expected an integer",
        ),
        (
            "[[realms]]\n[[realms.clients]]\nsecret = 'x'\n",
            "realms[0].clients[0]: missing required key 'client_id'",
        ),
        ("[[realms]]\ntoken_format = 'paper'\n", "realms[0].token_format: 'paper' is not one of"),
        ("seed = \n", "not valid TOML"),
    ],
)
def test_bad_config_file_names_file_and_key_and_starts_nothing(tmp_path: Path, content: str, message: str):
    cfg = tmp_path / "bad.toml"
    cfg.write_text(content)
    result = CliRunner().invoke(main, ["serve", "--port", "0", "--config", str(cfg)])
    assert result.exit_code == 2
    assert str(cfg) in result.output
    assert message in result.output
    assert "base URL" not in result.output


def test_missing_config_file(tmp_path: Path):
    result = CliRunner().invoke(main, ["serve", "--config", str(tmp_path / "nope.toml")])
    assert result.exit_code == 2
    assert "no such file" in result.output


def test_port_in_use_is_a_clear_error():
    with serve() as (_, base, _banner):
        port = base.split(":")[2].split("/")[0]
        # a subprocess: waitress leaves the socket of a failed bind for the garbage collector
        result = subprocess.run(
            [sys.executable, "-m", "mock_as", "serve", "--port", port],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        assert result.returncode == 2
        assert result.stderr == f"Error: cannot listen on 127.0.0.1 port {port}: Address already in use\n"


def test_python_dash_m_and_help():
    out = subprocess.run(
        [sys.executable, "-m", "mock_as", "serve", "--help"], capture_output=True, text=True, check=True
    ).stdout
    for option in ("--host", "--port", "--context-path", "--seed", "--users", "--config"):
        assert option in out
    assert "127.0.0.1" in out
    assert "8080" in out


def test_default_port_comes_from_env(monkeypatch: pytest.MonkeyPatch):
    env = {**os.environ, "MOCK_AS_PORT": "0"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "mock_as", "serve", "-q"], stdout=subprocess.PIPE, text=True, env=env
    )
    try:
        assert proc.stdout is not None
        base = proc.stdout.readline().strip()
        assert re.match(r"^http://127\.0\.0\.1:\d+/openam$", base)
        assert not base.endswith(":8080/openam")
    finally:
        proc.terminate()
        proc.communicate(timeout=10)


def test_answers_json_errors_to_a_person_poking_around():
    import requests

    with serve() as (_, base, _banner):
        root = base.rsplit("/", 1)[0]
        r = requests.get(f"{root}/nothing-here", timeout=10)
        assert r.status_code == 404
        assert r.json()["code"] == 404
        r = requests.get(f"{base}/oauth2/access_token", timeout=10)
        assert r.status_code == 405
        assert json.loads(r.text)["error"] == "method_not_allowed"
