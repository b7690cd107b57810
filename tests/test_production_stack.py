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


def test_check_deploy_with_the_compose_files_settings_prints_no_warning():
    """`manage.py check --deploy` (Django's production checklist) passes with exactly what the
    compose file gives the app, a real secret key standing in for the operator's."""
    import os
    import subprocess
    import sys

    def value(text):
        def default(match):
            return match.group(3) if match.group(2) == ":-" else "set-by-the-operator"

        return re.sub(r"\$\{([A-Z_]+)(:-|:\?)([^}]*)\}", default, str(text))

    env = {name: value(text) for name, text in _compose()["x-env"].items()}
    env["SECRET_KEY"] = "a-long-random-secret-of-the-operator-" + "x9Q!" * 10
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env={"PATH": os.environ.get("PATH", ""), **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "WARNINGS" not in result.stdout + result.stderr
