"""The accounts file and the settings: a mistake stops start-up with a message that names the
account and the key (STYLE.md point 7), and settings flow defaults < file < env < overrides.

Accounts are parsed with an explicit ``env`` so the developer's environment cannot leak in; the
CLI tests run the installed ``hub`` command as a user would, with a scrubbed environment.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hub.connectors import registry
from hub.connectors.accounts import load_accounts, parse_accounts
from hub.errors import ConfigError
from hub.runtime import Hub
from hub.settings import DEFAULT_MAX_BODY, load_settings
from tests.conftest import free_port

SOURCE = "config/accounts-under-test.toml"

SHOP = """
[accounts.shop-a]
connector = "shopify"
client = "acme"
shop = "shop-a.myshopify.com"
webhook_secret = "${SHOP_A_SECRET}"
access_token = "${SHOP_A_TOKEN:-shpat_fallback}"
"""

WOO = """
[accounts.woo-a]
connector = "woocommerce"
client = "acme"
url = "https://woo-a.example"
webhook_secret = "woo-secret"
consumer_key = "ck_test"
consumer_secret = "cs_test"
"""

ENV = {"SHOP_A_SECRET": "shop-secret"}


def parse(text: str, env: dict[str, str] | None = None):
    return parse_accounts(text, SOURCE, env=ENV if env is None else env)


def refused(text: str, env: dict[str, str] | None = None) -> str:
    """The message of the ConfigError that parsing ``text`` raises."""
    with pytest.raises(ConfigError) as caught:
        parse(text, env)
    message = caught.value.message
    assert str(caught.value) == message
    return message


def without_line(text: str, key: str) -> str:
    lines = text.splitlines()
    kept = [line for line in lines if not line.startswith(f"{key} =")]
    assert len(kept) == len(lines) - 1, key
    return "\n".join(kept) + "\n"


# -- a valid file -------------------------------------------------------------------------


def test_a_valid_file_gives_validated_accounts():
    accounts = parse(SHOP + WOO)
    assert sorted(accounts) == ["shop-a", "woo-a"]
    shop = accounts["shop-a"]
    assert (shop.name, shop.connector, shop.client) == ("shop-a", "shopify", "acme")
    assert shop.settings["webhook_secret"] == "shop-secret"
    assert shop.webhook_secrets == ["shop-secret"]
    assert accounts["woo-a"].settings["url"] == "https://woo-a.example"
    assert accounts["woo-a"].settings["api_base"] is None  # the common default


def test_client_defaults_to_default():
    text = WOO.replace('client = "acme"\n', "")
    assert parse(text)["woo-a"].client == "default"


# -- ${VAR} and ${VAR:-fallback} ----------------------------------------------------------


def test_fallback_is_used_only_when_the_variable_is_unset_or_empty():
    assert parse(SHOP)["shop-a"].settings["access_token"] == "shpat_fallback"
    assert parse(SHOP, {**ENV, "SHOP_A_TOKEN": ""})["shop-a"].settings["access_token"] == (
        "shpat_fallback"
    )
    set_token = parse(SHOP, {**ENV, "SHOP_A_TOKEN": "shpat_real"})
    assert set_token["shop-a"].settings["access_token"] == "shpat_real"


def test_a_variable_inside_a_longer_value_and_in_a_list_is_expanded():
    text = WOO.replace(
        '"https://woo-a.example"', '"https://${WOO_HOST:-woo-a.example}/shop"'
    ).replace('webhook_secret = "woo-secret"', 'webhook_secrets = ["${NEW}", "${OLD:-old}"]')
    account = parse(text, {"NEW": "new", "WOO_HOST": "woo.internal"})["woo-a"]
    assert account.settings["url"] == "https://woo.internal/shop"
    assert account.webhook_secrets == ["new", "old"]


@pytest.mark.parametrize("env", [{}, {"SHOP_A_SECRET": ""}], ids=["unset", "empty"])
def test_an_unset_variable_names_account_key_and_variable(env):
    message = refused(SHOP, env)
    assert SOURCE in message
    assert "'shop-a'" in message
    assert "webhook_secret" in message
    assert "SHOP_A_SECRET" in message


def test_an_unset_variable_in_a_list_names_the_key_and_the_variable():
    text = WOO.replace('webhook_secret = "woo-secret"', 'webhook_secrets = ["a", "${WOO_NEXT}"]')
    message = refused(text, {})
    assert "'woo-a'" in message and "webhook_secrets" in message and "WOO_NEXT" in message


# -- the connector ------------------------------------------------------------------------


def test_an_unknown_connector_names_account_key_and_the_known_connectors():
    message = refused(SHOP.replace('connector = "shopify"', 'connector = "shopfiy"'))
    assert "'shop-a'" in message
    assert "'connector'" in message
    assert "shopfiy" in message
    for name in registry():
        assert name in message


def test_a_missing_connector_names_account_and_key():
    message = refused(without_line(WOO, "connector"))
    assert "'woo-a'" in message and "connector" in message and "missing" in message


# -- required, unknown and invalid keys ---------------------------------------------------


@pytest.mark.parametrize(
    ("text", "account", "key"),
    [
        (WOO, "woo-a", "consumer_secret"),
        (WOO, "woo-a", "consumer_key"),
        (WOO, "woo-a", "url"),
        (SHOP, "shop-a", "shop"),
        (SHOP, "shop-a", "access_token"),
    ],
)
def test_a_missing_required_key_names_account_and_key(text, account, key):
    message = refused(without_line(text, key))
    assert f"'{account}'" in message
    assert key in message
    assert SOURCE in message


def test_a_secret_given_only_as_a_webhook_secrets_list_is_enough():
    text = WOO.replace('webhook_secret = "woo-secret"', 'webhook_secrets = ["new", "old"]')
    account = parse(text)["woo-a"]
    assert account.webhook_secrets == ["new", "old"]
    assert "webhook_secret" not in account.settings


@pytest.mark.parametrize(
    "secret_line",
    ["", 'webhook_secret = ""', "webhook_secrets = []", 'webhook_secret = "${UNSET:-}"'],
    ids=["absent", "empty", "empty-list", "empty-fallback"],
)
def test_no_webhook_secret_at_all_names_webhook_secret(secret_line):
    text = WOO.replace('webhook_secret = "woo-secret"', secret_line)
    message = refused(text, {})
    assert "'woo-a'" in message
    assert "webhook_secret" in message


@pytest.mark.parametrize("typo", ["webhook_secert", "consumer_sercet", "shop_domain"])
def test_an_unknown_key_is_named(typo):
    message = refused(WOO.replace("[accounts.woo-a]\n", f'[accounts.woo-a]\n{typo} = "x"\n'))
    assert "'woo-a'" in message
    assert typo in message


def test_a_value_of_the_wrong_type_names_the_key():
    message = refused(WOO.replace('url = "https://woo-a.example"', 'url = "not a url"'))
    assert "'woo-a'" in message and "url" in message
    message = refused(WOO.replace('consumer_key = "ck_test"', "consumer_key = 12"))
    assert "consumer_key" in message


def test_the_first_bad_account_stops_parsing_even_after_good_ones():
    message = refused(WOO + without_line(SHOP, "access_token"))
    assert "'shop-a'" in message and "access_token" in message


# -- names and the file itself ------------------------------------------------------------


@pytest.mark.parametrize("name", ["my shop", "shop/a", "-shop", "", "é-shop", "a" * 101])
def test_a_bad_account_name_is_refused(name):
    message = refused(WOO.replace("[accounts.woo-a]", f'[accounts."{name}"]'))
    assert repr(name) in message
    assert "name" in message


@pytest.mark.parametrize("name", ["shop-a", "Shop_A.eu", "1", "a" * 100])
def test_good_account_names_are_accepted(name):
    assert list(parse(WOO.replace("[accounts.woo-a]", f'[accounts."{name}"]'))) == [name]


@pytest.mark.parametrize(
    "text",
    ['[accounts.woo-a\nconnector = "woocommerce"\n', 'connector = "woo\n', "= 1\n"],
    ids=["unclosed-table", "unclosed-string", "no-key"],
)
def test_invalid_toml_names_the_file(text):
    message = refused(text)
    assert SOURCE in message
    assert "TOML" in message


def test_accounts_must_be_tables():
    assert "table" in refused("accounts = 5\n")
    message = refused("[accounts]\nwoo-a = 5\n")
    assert "'woo-a'" in message and "table" in message


def test_load_accounts_reads_a_file_and_names_it_in_errors(tmp_path: Path):
    good = tmp_path / "hub.toml"
    good.write_text(WOO)
    assert list(load_accounts(good, env={})) == ["woo-a"]
    bad = tmp_path / "bad.toml"
    bad.write_text(without_line(WOO, "consumer_secret"))
    with pytest.raises(ConfigError, match="consumer_secret") as caught:
        load_accounts(bad, env={})
    assert str(bad) in caught.value.message
    assert load_accounts(tmp_path / "absent.toml", env={}) == {}


# -- the CLI, as a user runs it -----------------------------------------------------------

HUB = Path(sys.executable).with_name("hub")


def hub_env(tmp_path: Path, config: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HUB_", "EXAMPLE_"))}
    env.update(HUB_CONFIG=str(config), HUB_DATABASE_URL=f"sqlite:///{tmp_path / 'hub.db'}")
    return env


def run_hub(tmp_path: Path, config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    assert HUB.is_file(), f"the hub command is not installed next to {sys.executable}"
    return subprocess.run(
        [str(HUB), *args],
        env=hub_env(tmp_path, config),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_cli_accounts_lists_a_good_file_without_secrets(tmp_path: Path):
    config = tmp_path / "hub.toml"
    config.write_text(WOO)
    done = run_hub(tmp_path, config, "accounts")
    assert done.returncode == 0, done.stderr
    assert '"account": "woo-a"' in done.stdout and '"connector": "woocommerce"' in done.stdout
    for secret in ("woo-secret", "cs_test", "ck_test"):
        assert secret not in done.stdout + done.stderr


def test_cli_accounts_with_a_bad_file_fails_naming_account_and_key(tmp_path: Path):
    config = tmp_path / "hub.toml"
    shop = SHOP.replace("${SHOP_A_SECRET}", "shop-secret")
    config.write_text(WOO + without_line(shop, "access_token"))
    done = run_hub(tmp_path, config, "accounts")
    assert done.returncode != 0
    assert "'shop-a'" in done.stderr and "access_token" in done.stderr
    assert str(config) in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "hub.db").exists()  # refused before touching the database


def test_cli_accounts_with_an_unset_variable_names_it(tmp_path: Path):
    config = tmp_path / "hub.toml"
    config.write_text(SHOP)  # SHOP_A_SECRET is not in the scrubbed environment
    done = run_hub(tmp_path, config, "accounts")
    assert done.returncode != 0
    assert "'shop-a'" in done.stderr and "webhook_secret" in done.stderr
    assert "SHOP_A_SECRET" in done.stderr


def test_cli_serve_with_a_bad_file_exits_at_once_with_the_message(tmp_path: Path):
    config = tmp_path / "hub.toml"
    config.write_text(
        WOO.replace("[accounts.woo-a]\n", '[accounts.woo-a]\nconsumer_sercet = "x"\n')
    )
    started = time.monotonic()
    done = run_hub(tmp_path, config, "serve", "--port", str(free_port()))
    assert time.monotonic() - started < 30
    assert done.returncode != 0
    assert "'woo-a'" in done.stderr and "consumer_sercet" in done.stderr
    assert "listening" not in done.stderr
    assert "Traceback" not in done.stderr


def test_cli_with_a_missing_accounts_file_fails(tmp_path: Path):
    missing = tmp_path / "nowhere.toml"
    done = run_hub(tmp_path, missing, "accounts")
    assert done.returncode != 0
    assert str(missing) in done.stderr and "does not exist" in done.stderr


# -- settings -----------------------------------------------------------------------------


def settings_file(tmp_path: Path, table: str = "") -> Path:
    path = tmp_path / "hub.toml"
    path.write_text(f"[settings]\n{table}\n{WOO}")
    return path


def test_defaults_apply_when_nothing_is_set(tmp_path: Path):
    config = settings_file(tmp_path)
    settings = load_settings(environ={"HUB_CONFIG": str(config)})
    assert settings.max_body == DEFAULT_MAX_BODY
    assert settings.config == str(config)
    assert settings.log_level == "INFO"


def test_file_beats_default_and_env_beats_file(tmp_path: Path):
    config = str(settings_file(tmp_path, "max_body = 1000\nlog_level = 'DEBUG'"))
    from_file = load_settings(environ={"HUB_CONFIG": config})
    assert (from_file.max_body, from_file.log_level) == (1000, "DEBUG")
    from_env = load_settings(environ={"HUB_CONFIG": config, "HUB_MAX_BODY": "2000"})
    assert (from_env.max_body, from_env.log_level) == (2000, "DEBUG")
    # An empty variable is unset, so the file still applies.
    assert load_settings(environ={"HUB_CONFIG": config, "HUB_MAX_BODY": ""}).max_body == 1000


def test_overrides_beat_env(tmp_path: Path):
    config = str(settings_file(tmp_path, "max_body = 1000"))
    env = {"HUB_CONFIG": config, "HUB_MAX_BODY": "2000", "HUB_LOG_LEVEL": "WARNING"}
    settings = load_settings({"max_body": 3000, "log_level": "ERROR"}, environ=env)
    assert (settings.max_body, settings.log_level) == (3000, "ERROR")


def test_the_config_override_chooses_the_file_over_hub_config(tmp_path: Path):
    chosen = tmp_path / "chosen"
    chosen.mkdir()
    ignored = tmp_path / "ignored"
    ignored.mkdir()
    settings = load_settings(
        {"config": str(settings_file(chosen, "max_body = 111"))},
        environ={"HUB_CONFIG": str(settings_file(ignored, "max_body = 222"))},
    )
    assert settings.max_body == 111


@pytest.mark.parametrize(("var", "value"), [("HUB_MAX_BODY", "5MB"), ("HUB_JOB_LEASE", "soon")])
def test_a_non_number_in_the_environment_names_the_variable(tmp_path: Path, var, value):
    env = {"HUB_CONFIG": str(settings_file(tmp_path)), var: value}
    with pytest.raises(ConfigError) as caught:
        load_settings(environ=env)
    assert var in caught.value.message
    assert repr(value) in caught.value.message


def test_a_non_number_in_the_file_names_the_file_and_key(tmp_path: Path):
    config = settings_file(tmp_path, "max_body = 'big'")
    with pytest.raises(ConfigError) as caught:
        load_settings(environ={"HUB_CONFIG": str(config)})
    assert str(config) in caught.value.message and "max_body" in caught.value.message


@pytest.mark.parametrize("key", ["max_bdy", "config", "webhook_secret"])
def test_an_unknown_settings_key_is_a_config_error(tmp_path: Path, key):
    config = settings_file(tmp_path, f"{key} = 1")
    with pytest.raises(ConfigError) as caught:
        load_settings(environ={"HUB_CONFIG": str(config)})
    assert repr(key) in caught.value.message and str(config) in caught.value.message


def test_an_unknown_override_is_a_config_error(tmp_path: Path):
    with pytest.raises(ConfigError, match="max_bdy"):
        load_settings({"max_bdy": 1}, environ={"HUB_CONFIG": str(settings_file(tmp_path))})


@pytest.mark.parametrize("value", ["0", "-1"])
def test_max_body_must_be_positive(tmp_path: Path, value):
    env = {"HUB_CONFIG": str(settings_file(tmp_path)), "HUB_MAX_BODY": value}
    with pytest.raises(ConfigError, match="max_body"):
        load_settings(environ=env)


def test_invalid_toml_in_the_settings_file_names_the_file(tmp_path: Path):
    config = tmp_path / "hub.toml"
    config.write_text("[settings\nmax_body = 1\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(environ={"HUB_CONFIG": str(config)})
    assert str(config) in caught.value.message and "TOML" in caught.value.message


def test_hub_from_env_refuses_a_missing_accounts_file(tmp_path: Path, monkeypatch):
    for var in [k for k in os.environ if k.startswith("HUB_")]:
        monkeypatch.delenv(var)
    missing = tmp_path / "missing.toml"
    monkeypatch.setenv("HUB_CONFIG", str(missing))
    monkeypatch.setenv("HUB_DATABASE_URL", f"sqlite:///{tmp_path / 'hub.db'}")
    with pytest.raises(ConfigError) as caught:
        Hub.from_env()
    assert str(missing) in caught.value.message
    with pytest.raises(ConfigError):
        Hub.from_env({"config": str(missing)})


def test_hub_from_env_loads_the_accounts_of_the_file(tmp_path: Path, monkeypatch):
    for var in [k for k in os.environ if k.startswith("HUB_")]:
        monkeypatch.delenv(var)
    config = settings_file(tmp_path, "max_body = 4096")
    monkeypatch.setenv("HUB_CONFIG", str(config))
    hub = Hub.from_env({"database_url": f"sqlite:///{tmp_path / 'hub.db'}"})
    try:
        assert list(hub.accounts) == ["woo-a"]
        assert hub.settings.max_body == 4096
    finally:
        hub.close()


# -- secrets that are no secret, and loose numbers -------------------------------------------


@pytest.mark.parametrize(
    "line",
    ['webhook_secret = "${NEW_SECRET:-}"', 'webhook_secrets = ["${NEW_SECRET:-}", "old"]'],
)
def test_an_empty_webhook_secret_is_refused(line):
    message = refused(WOO.replace('webhook_secret = "woo-secret"', line))
    assert "woo-a" in message and "webhook_secret" in message


def test_an_empty_secret_never_verifies_anything():
    from hub.connectors.signing import hmac_sha256_base64, verify_hmac_sha256_base64

    forged = hmac_sha256_base64("", b"{}")
    assert verify_hmac_sha256_base64(["", "real"], b"{}", forged) is False


@pytest.mark.parametrize("value", ["1.9", "true"])
def test_whole_number_settings_refuse_fractions_and_booleans(tmp_path: Path, value):
    config = settings_file(tmp_path, f"max_body = {value}")
    with pytest.raises(ConfigError) as caught:
        load_settings(environ={"HUB_CONFIG": str(config)})
    assert "max_body" in caught.value.message


def test_settings_must_be_a_table(tmp_path: Path):
    config = tmp_path / "hub.toml"
    config.write_text(f"settings = 5\n{WOO}")
    with pytest.raises(ConfigError) as caught:
        load_settings(environ={"HUB_CONFIG": str(config)})
    assert "settings" in caught.value.message


def test_the_connector_name_may_come_from_the_environment():
    accounts = parse(SHOP.replace('connector = "shopify"', 'connector = "${KIND:-shopify}"'))
    assert accounts["shop-a"].connector == "shopify"
