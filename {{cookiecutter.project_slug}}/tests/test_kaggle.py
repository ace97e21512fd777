"""What the project reads of the Kaggle CLI's logins (the user's name, never a key) and of its output."""

import json
import stat

import pytest

from {{ cookiecutter.module_name }}.submission import kaggle as kaggle_cli


def fake_cli(folder, output: str, status: int = 0):
    """A `kaggle` command that records its arguments and prints `output`."""
    script = folder / "kaggle"
    script.write_text(f"#!/bin/sh\necho \"$@\" >> {folder / 'args.txt'}\ncat <<'EOF'\n{output}EOF\nexit {status}\n")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return script


@pytest.fixture
def home(tmp_path, monkeypatch):
    """A home folder with no Kaggle login in it, and none in the environment."""
    monkeypatch.setenv("HOME", str(tmp_path))
    for name in ("KAGGLE_USERNAME", "KAGGLE_KEY", "KAGGLE_CONFIG_DIR", "KAGGLE_API_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    (tmp_path / ".kaggle").mkdir()
    return tmp_path


def test_the_user_name_comes_from_each_way_the_cli_logs_in(home, monkeypatch):
    monkeypatch.setattr(kaggle_cli, "cli", lambda: pytest.fail("the CLI asked without a token"))
    assert kaggle_cli.username() is None
    # kaggle auth login
    (home / ".kaggle" / "credentials.json").write_text(json.dumps({"username": "oauth-user", "refresh_token": "x"}))
    assert kaggle_cli.username() == "oauth-user"
    # the legacy kaggle.json, where KAGGLE_CONFIG_DIR says
    (home / "elsewhere").mkdir()
    monkeypatch.setenv("KAGGLE_CONFIG_DIR", str(home / "elsewhere"))
    (home / "elsewhere" / "kaggle.json").write_text(json.dumps({"username": 123, "key": "k"}))  # hand-edited
    assert kaggle_cli.username() == "oauth-user"
    (home / "elsewhere" / "kaggle.json").write_text(json.dumps({"username": "legacy-user", "key": "k"}))
    assert kaggle_cli.username() == "legacy-user"
    monkeypatch.setenv("KAGGLE_USERNAME", "env-user")
    assert kaggle_cli.username() == "env-user"


def test_a_bare_access_token_asks_the_cli_whose_it_is(home, monkeypatch):
    (home / ".kaggle" / "access_token").write_text("KGAT_0123")
    cli = fake_cli(home, "Configuration values from /root/.kaggle\n- username: token-user\n- auth_method: token\n")
    monkeypatch.setattr(kaggle_cli, "cli", lambda: str(cli))
    assert kaggle_cli.username() == "token-user"
    assert (home / "args.txt").read_text() == "config view\n"
    failing = fake_cli(home, "Authentication required\n", status=1)  # offline, or a revoked token
    monkeypatch.setattr(kaggle_cli, "cli", lambda: str(failing))
    assert kaggle_cli.username() is None


def test_leaderboard_scores_are_read_by_submission_message(tmp_path, monkeypatch):
    table = (
        "Warning: Looks like you're using an outdated API Version\n"
        "ref,fileName,date,description,status,publicScore,privateScore\n"
        "3,submission.csv,2026-11-02,exp_a,SubmissionStatus.COMPLETE,0.91,\n"
        "2,submission.csv,2026-11-01,exp_a,SubmissionStatus.COMPLETE,0.95,\n"
        "1,submission.csv,2026-11-01,exp_b,SubmissionStatus.PENDING,,\n"
    )
    cli = fake_cli(tmp_path, table)
    monkeypatch.setattr(kaggle_cli, "cli", lambda: str(cli))
    assert kaggle_cli.leaderboard_scores("digit-recognizer") == {"exp_a": [0.91, 0.95]}
    assert (tmp_path / "args.txt").read_text() == "competitions submissions digit-recognizer --csv --page-size 200\n"
    monkeypatch.setattr(kaggle_cli, "cli", lambda: None)  # no CLI installed
    assert kaggle_cli.leaderboard_scores("digit-recognizer") is None
