"""Settings: every KADRA_* variable validated in one place; a bad one is one line naming it and what it takes."""
import subprocess
import sys

import pytest

from kadra_defaults import settings


@pytest.fixture
def env(monkeypatch):
    for spec in settings.SPECS:
        monkeypatch.delenv(spec.name, raising=False)
    return monkeypatch


def test_every_default_works_on_one_machine(env):
    current = settings.load()
    assert current.gateway_port == 8000 and current.smtp_tls == "none" and current.amqp_queue_type == "classic"
    assert current.notify_retry_delays == (1.0, 5.0, 30.0, 120.0, 600.0)
    assert current.database_name("users") == "kadra_users"


@pytest.mark.parametrize("name, value, expected", [
    ("KADRA_GATEWAY_PORT", "abc", "KADRA_GATEWAY_PORT must be a port number (1-65535), got 'abc'"),
    ("KADRA_GATEWAY_PORT", "70000", "KADRA_GATEWAY_PORT must be a port number (1-65535), got '70000'"),
    ("KADRA_SMTP_TLS", "maybe", "KADRA_SMTP_TLS must be one of none, starttls, tls, got 'maybe'"),
    ("KADRA_AMQP_QUEUE_TYPE", "stream", "KADRA_AMQP_QUEUE_TYPE must be classic or quorum, got 'stream'"),
    ("KADRA_NOTIFY_RETRY_DELAYS", "1,x", "KADRA_NOTIFY_RETRY_DELAYS must be seconds separated by commas"),
    ("KADRA_RPC_TIMEOUT", "-1", "KADRA_RPC_TIMEOUT must be a number of seconds above 0, got '-1'"),
    ("KADRA_MONGO_URI", "postgres://x", "KADRA_MONGO_URI must be a mongodb:// or mongodb+srv:// URI"),
    ("KADRA_TRUSTED_PROXIES", "one", "KADRA_TRUSTED_PROXIES must be a whole number of proxies"),
    ("KADRA_SERVICE_TOKEN_SECRET", "short", "KADRA_SERVICE_TOKEN_SECRET must be a secret of at least 32 bytes"),
    ("KADRA_LIMIT_SIGNUPS_PER_CLIENT_HOUR", "-1", "KADRA_LIMIT_SIGNUPS_PER_CLIENT_HOUR must be a whole number"),
    ("KADRA_APP_STORE_URL", "http://apps.apple.com/app/id1",
     "KADRA_APP_STORE_URL must be an https:// URL (empty: no link), got 'http://apps.apple.com/app/id1'"),
    ("KADRA_APP_STORE_URL", "javascript:alert(1)", "KADRA_APP_STORE_URL must be an https:// URL"),
    ("KADRA_PLAY_STORE_URL", "https://play.google.com/store apps", "KADRA_PLAY_STORE_URL must be an https:// URL"),
    ("KADRA_PLAY_STORE_URL", "https:///no-host", "KADRA_PLAY_STORE_URL must be an https:// URL"),
])
def test_a_bad_value_names_the_variable_and_what_it_accepts(env, name, value, expected):
    env.setenv(name, value)
    with pytest.raises(settings.SettingsError) as raised:
        settings.load()
    assert str(raised.value).startswith(expected)
    assert "\n" not in str(raised.value)


def test_store_links_are_empty_unless_given_and_kept_as_given(env):
    assert (settings.load().app_store_url, settings.load().play_store_url) == ("", "")
    env.setenv("KADRA_APP_STORE_URL", " https://apps.apple.com/pl/app/kadra/id6450000000 ")
    env.setenv("KADRA_PLAY_STORE_URL", "https://play.google.com/store/apps/details?id=pl.kadra.mobile&hl=pl")
    current = settings.load()
    assert current.app_store_url == "https://apps.apple.com/pl/app/kadra/id6450000000"
    assert current.play_store_url == "https://play.google.com/store/apps/details?id=pl.kadra.mobile&hl=pl"


def test_a_secret_is_never_shown(env):
    env.setenv("KADRA_SMTP_PASSWORD", "hunter2-secret")
    assert "hunter2" not in repr(settings.load())


def test_values_are_normalised(env):
    env.setenv("KADRA_SMTP_TLS", " STARTTLS ")
    env.setenv("KADRA_LOG_LEVEL", "debug")
    env.setenv("KADRA_NOTIFY_RETRY_DELAYS", "1, 2.5,10")
    current = settings.load()
    assert (current.smtp_tls, current.log_level, current.notify_retry_delays) == ("starttls", "DEBUG", (1.0, 2.5, 10.0))


def test_current_follows_a_changed_environment(env):
    env.setenv("KADRA_GATEWAY_PORT", "8100")
    assert settings.current().gateway_port == 8100
    env.setenv("KADRA_GATEWAY_PORT", "8200")
    assert settings.current().gateway_port == 8200


@pytest.mark.parametrize("command", [["-m", "kadra_defaults.settings"], ["-m", "kadra_defaults.cli", "notify"]])
def test_a_process_with_a_bad_setting_stops_with_one_line_and_no_traceback(command):
    program = "from kadra_defaults import settings; settings.main()" if command[1].endswith("settings") else \
        "from kadra_defaults import cli; cli.main(['notify'])"
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=60,
                          env={"KADRA_SMTP_TLS": "maybe", "PATH": "/usr/bin:/bin"})
    assert done.returncode == 2
    assert done.stderr.strip().endswith("KADRA_SMTP_TLS must be one of none, starttls, tls, got 'maybe'")
    assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr


CLUSTER = "amqp://guest:guest@127.0.0.1:5681/v;amqp://guest:guest@127.0.0.1:5682/v;amqps://k:p@rabbit-3:5671/v"


def test_the_broker_may_be_a_list_of_addresses(env):
    env.setenv("KADRA_AMQP_URI", CLUSTER)
    assert settings.load().amqp_uri == CLUSTER
    assert settings.amqp_uris() == CLUSTER.split(";")
    assert settings.amqp_uris("amqp://guest:guest@127.0.0.1:5672/") == ["amqp://guest:guest@127.0.0.1:5672/"]


@pytest.mark.parametrize("value", [
    "amqp://a:5681/;",                    # a trailing separator: an empty address
    "amqp://a:5681/;;amqp://b:5682/",     # an empty address in the middle
    "amqp://a:5681/;http://b:5682/",      # the second is not AMQP
    "amqp://a:5681/; amqp://b:5682/",     # a space (nameko hands the text to kombu as is)
    "amqp://a:5681/,amqp://b:5682/",      # a comma is not the separator
])
def test_a_bad_broker_list_names_the_variable(env, value):
    env.setenv("KADRA_AMQP_URI", value)
    with pytest.raises(settings.SettingsError) as raised:
        settings.load()
    assert str(raised.value).startswith(
        "KADRA_AMQP_URI must be an amqp:// or amqps:// URI, or several separated by ';'")
    assert "\n" not in str(raised.value)
