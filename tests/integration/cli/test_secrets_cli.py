"""``riskdesk secrets set|list|delete|broker-login`` through typer's runner, file backend only."""

from __future__ import annotations

import json
from pathlib import Path

import keyring
import pytest
from keyring.backends import fail
from typer.testing import CliRunner

from riskdesk.cli.secrets import app
from riskdesk.secrets import SecretStore, load_broker_credentials, open_secret_store


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    monkeypatch.setattr(keyring, "get_keyring", fail.Keyring)  # never the machine's keyring
    values = {
        "RISKDESK_SECRETS_BACKEND": "file",
        "RISKDESK_SECRETS_FILE": str(tmp_path / "data" / "secrets.enc"),
        "RISKDESK_SECRETS_KEY_FILE": str(tmp_path / "config" / "secrets.key"),
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("RISKDESK_SECRETS_KEY", raising=False)
    return values


def store(env: dict[str, str]) -> SecretStore:
    return open_secret_store(environ=env)


def invoke(*args: str, input: str | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args), input=input)
    return result.exit_code, result.output


def test_secrets_set_with_hidden_prompt_stores_value_and_never_echoes_it(
    env: dict[str, str],
) -> None:
    code, output = invoke("set", "token/tastytrade/default", input="tok-123\ntok-123\n")

    assert code == 0, output
    assert "tok-123" not in output
    assert "stored secret token/tastytrade/default" in output
    assert store(env).get("token/tastytrade/default") == "tok-123"


def test_secrets_set_with_stdin_reads_one_line(env: dict[str, str]) -> None:
    code, output = invoke("set", "a/b", "--stdin", input="line-value\nignored\n")

    assert code == 0, output
    assert store(env).get("a/b") == "line-value"


def test_secrets_set_with_from_env_reads_the_variable(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MY_TOKEN", "from-env-value")

    code, output = invoke("set", "a/b", "--from-env", "MY_TOKEN")

    assert code == 0, output
    assert "from-env-value" not in output
    assert store(env).get("a/b") == "from-env-value"


def test_secrets_set_with_unset_env_var_or_empty_stdin_fails(env: dict[str, str]) -> None:
    code_env, out_env = invoke("set", "a", "--from-env", "RISKDESK_TEST_NOT_SET_ANYWHERE")
    code_in, out_in = invoke("set", "a", "--stdin", input="\n")
    code_both, out_both = invoke("set", "a", "--stdin", "--from-env", "X", input="v\n")

    assert code_env == 1
    assert "is not set or is empty" in out_env
    assert code_in == 1
    assert "held no value" in out_in
    assert code_both == 1
    assert "at most one of" in out_both
    assert store(env).names() == []


def test_secrets_set_with_bad_name_fails_naming_the_rule(env: dict[str, str]) -> None:
    code, output = invoke("set", "a b", "--stdin", input="v\n")

    assert code == 1
    assert "contains whitespace" in output


def test_secrets_list_with_json_prints_names_never_values(env: dict[str, str]) -> None:
    store(env).set("b/two", "value-two")
    store(env).set("a/one", "value-one")

    code, output = invoke("list", "--json")

    assert code == 0, output
    data = json.loads(output)
    assert data["names"] == ["a/one", "b/two"]
    assert data["kind"] == "file"
    assert "value-" not in output
    code_text, text = invoke("list")
    assert code_text == 0
    assert "2 secret(s)" in text
    assert "a/one" in text


def test_secrets_delete_with_existing_and_missing_name_reports_each(env: dict[str, str]) -> None:
    store(env).set("a/one", "v")

    code, output = invoke("delete", "a/one")
    code_again, output_again = invoke("delete", "a/one")

    assert code == 0, output
    assert "deleted secret a/one" in output
    assert code_again == 1
    assert "no secret named 'a/one'" in output_again
    assert store(env).names() == []


def test_secrets_broker_login_with_stdin_password_stores_credentials(env: dict[str, str]) -> None:
    code, output = invoke(
        "broker-login", "--broker", "tastytrade", "--name", "main", "--login", "trader",
        "--stdin", input="pw-secret\n",
    )  # fmt: skip

    assert code == 0, output
    assert "pw-secret" not in output
    assert "broker/tastytrade/main" in output
    credentials = load_broker_credentials(store(env), "tastytrade", "main")
    assert credentials.pair() == ("trader", "pw-secret")


def test_secrets_broker_login_with_ibkr_fails_saying_tws_logs_in(env: dict[str, str]) -> None:
    code, output = invoke(
        "broker-login", "--broker", "ibkr", "--login", "x", "--stdin", input="pw\n"
    )

    assert code == 1
    assert "TWS" in output


def test_secrets_list_with_wrong_key_fails_with_one_clear_line(
    env: dict[str, str], tmp_path: Path
) -> None:
    store(env).set("a", "v")
    Path(env["RISKDESK_SECRETS_KEY_FILE"]).write_bytes(
        b"ZmFrZWZha2VmYWtlZmFrZWZha2VmYWtlZmFrZWZha2U="
    )

    code, output = invoke("list")

    assert code == 1
    assert "cannot decrypt the secrets file" in output
    assert "Traceback" not in output
