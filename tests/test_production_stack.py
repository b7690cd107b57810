"""docker-compose.yml passes every setting the app reads (there is no Docker engine here: the
file is checked by reading it, and its commands are the ones the tests run)."""

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
# Read by settings.py but not for production: the development machine's and the tests' own.
NOT_FOR_PRODUCTION = {"DEBUG", "DEMO_INBOX_URL", "PUSH_ALLOW_LOOPBACK"}


def _settings_read():
    text = (ROOT / "homevisits" / "settings.py").read_text()
    pattern = r'(?:env(?:int|bool|list|choice)?\(\s*|environ\.get\(\s*|environ\[)"([A-Z_]+)"'
    return set(re.findall(pattern, text))


def _compose():
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_compose_passes_every_setting_the_app_reads():
    names = _settings_read()
    assert {"SMS_PROVIDER", "TWILIO_AUTH_TOKEN", "VAPID_SUBJECT", "EMAIL_URL"} <= names
    passed = set(_compose()["x-env"])
    assert names - NOT_FOR_PRODUCTION - passed == set()


def test_compose_runs_the_watch_the_sender_beat_and_the_watchdog_restarting_each():
    services = _compose()["services"]
    commands = {name: " ".join(service.get("command") or []) for name, service in services.items()}
    assert "-Q celery" in commands["worker"]
    assert "-Q outbox" in commands["sender"]
    assert commands["watchdog"] == "python manage.py watchdog"
    assert "beat" in commands["beat"]
    for name in ("web", "worker", "sender", "beat", "watchdog"):
        assert services[name]["restart"] == "unless-stopped", name
