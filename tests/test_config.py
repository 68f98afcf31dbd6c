"""Configuration: defaults, the file, the environment; bad values and unknown keys reported."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from talkroom.core import config
from talkroom.core.errors import BadInput
from talkroom.core.paths import config_dir
from tests.conftest import Talk, run_talkroom


def write_config(home: Path, text: str) -> Path:
    path = home / "config.yaml"
    path.write_text(text)
    return path


def test_defaults_without_a_file(isolated: Path) -> None:
    cfg = config.load(env={})
    assert cfg["poll_interval"] == 1.0 and cfg["moderator"] is None
    assert set(cfg.sources.values()) == {"default"}


def test_file_then_environment(isolated: Path) -> None:
    path = write_config(isolated, "moderator: Alice\npoll_interval: 2.5\nbell: no\n")
    cfg = config.load(path, env={"TALKROOM_POLL_INTERVAL": "0.5"})
    assert cfg["moderator"] == "alice" and cfg["bell"] is False
    assert cfg["poll_interval"] == 0.5 and cfg.sources["poll_interval"] == "$TALKROOM_POLL_INTERVAL"
    assert cfg.sources["moderator"] == f"file {path}"


def test_nested_profiles_and_comments(isolated: Path) -> None:
    path = write_config(isolated, "# mine\nprofiles:\n  claude:\n    submit_delay: 0.8\n")
    assert config.load(path, env={})["profiles"] == {"claude": {"submit_delay": "0.8"}}


def test_unknown_keys_are_reported(isolated: Path) -> None:
    path = write_config(isolated, "moderater: bob\n")
    cfg = config.load(path, env={})
    assert len(cfg.warnings) == 1 and "unknown key 'moderater'" in cfg.warnings[0]


@pytest.mark.parametrize(
    "text,pattern",
    [
        ("poll_interval: soon\n", "poll_interval 'soon' is not valid"),
        ("moderator: not/a name\n", "moderator 'not/a name' is not valid"),
        ("bell: maybe\n", "true or false"),
        ("a: [\n", "line"),
    ],
)
def test_bad_values_name_the_file_and_key(isolated: Path, text: str, pattern: str) -> None:
    path = write_config(isolated, text)
    with pytest.raises(BadInput, match=pattern):
        config.load(path, env={})


def test_the_moderator_name_comes_from_the_config(
    talk: Talk, isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TALKROOM_MODERATOR")
    write_config(isolated, "moderator: carol\n")
    conv_id = talk.open()
    talk("pause", conv_id)
    result = talk("show", conv_id, "--last", "1")
    assert "## Moderator -- carol @" in result.out


def test_a_bad_config_is_a_one_line_error_with_exit_2(
    talk: Talk, isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TALKROOM_MODERATOR")
    write_config(isolated, "moderator: [unclosed\n")
    conv_id = talk.open()
    result = talk("pause", conv_id)
    assert result.code == 2 and result.err.count("\n") == 1 and "config file" in result.err


def test_config_dir_matches_platformdirs(monkeypatch: pytest.MonkeyPatch) -> None:
    from platformdirs import user_config_dir

    for value in ("", "/custom/xdg"):
        monkeypatch.setenv("XDG_CONFIG_HOME", value)
        assert config_dir() == Path(user_config_dir("talkroom", appauthor=False))


@pytest.mark.parametrize(
    "text,pattern",
    [
        ("profiles:\n  claude:\n    submit_key: '-t x'\n", "submit_key"),
        ("profiles:\n  claude:\n    submit_dely: 1\n", "unknown profile key 'submit_dely'"),
        ("profiles:\n  aider: {}\n", "unknown profile 'aider'"),
    ],
)
@pytest.mark.parametrize(
    "command", [["--watch-only"], [], ["config", "--show"], ["config", "--edit"]]
)
def test_a_bad_profile_override_is_one_line_before_anything_starts(
    isolated: Path,
    tmp_path: Path,
    text: str,
    pattern: str,
    command: list[str],
) -> None:
    write_config(isolated, text)
    result = run_talkroom("--root", str(tmp_path / "talks"), *command, env={"EDITOR": "true"})
    err = result.stderr.decode()
    assert result.returncode == 2 and err.count("\n") == 1 and pattern in err, err
    assert "config --edit" in err


def test_an_unknown_theme_stops_the_console_but_not_the_watcher(
    isolated: Path, tmp_path: Path
) -> None:
    write_config(isolated, "theme: solarised\n")
    result = run_talkroom("--root", str(tmp_path / "talks"))
    err = result.stderr.decode()
    assert result.returncode == 2 and err.count("\n") == 1
    assert "theme 'solarised' is not one of" in err and "solarized-dark" in err
    doctor = json.loads(run_talkroom("--root", str(tmp_path), "doctor", "--json").stdout)
    assert "solarised" in doctor[0]["detail"] and not doctor[0]["ok"]
    headless = run_talkroom(
        "--root",
        str(tmp_path / "talks"),
        "--watch-only",
        "--json",
        env={"TALKROOM_HOST": "bad/host"},
    )  # stops at the host, not theme
    assert "theme" not in headless.stderr.decode() and headless.returncode == 2


def show(*args: str, env: dict[str, str] | None = None) -> dict:
    out = run_talkroom(*args, "config", "--show", "--json", env=env)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_precedence_flag_then_environment_then_file_then_default(
    isolated: Path,
    tmp_path: Path,
) -> None:
    write_config(isolated, f"poll_interval: 4\nroot: {tmp_path / 'from-file'}\nbell: false\n")
    only_file = show()
    assert only_file["values"]["poll_interval"] == 4.0
    assert only_file["sources"]["poll_interval"].startswith("file ")
    assert only_file["values"]["root"] == str(tmp_path / "from-file")
    assert only_file["values"]["rescan_interval"] == 30.0
    assert only_file["sources"]["rescan_interval"] == "default"
    env = {"TALKROOM_POLL_INTERVAL": "3", "TALKROOM_ROOT": str(tmp_path / "from-env")}
    with_env = show(env=env)
    assert with_env["values"]["poll_interval"] == 3.0
    assert with_env["sources"]["poll_interval"] == "$TALKROOM_POLL_INTERVAL"
    assert with_env["values"]["root"] == str(tmp_path / "from-env")
    flags = show("--interval", "2", "--root", str(tmp_path / "from-flag"), env=env)
    assert flags["values"]["poll_interval"] == 2.0
    assert flags["sources"]["poll_interval"] == "--interval"
    assert (flags["values"]["root"], flags["sources"]["root"]) == (
        str(tmp_path / "from-flag"),
        "--root",
    )
    assert flags["values"]["bell"] is False


def test_config_edit_creates_a_documented_file(isolated: Path) -> None:
    path = isolated / "config.yaml"
    out = run_talkroom("config", "--edit", env={"EDITOR": "true"})
    assert out.returncode == 0 and path.exists() and b"is valid" in out.stdout
    text = path.read_text()
    assert "# poll_interval: 1.0" in text and "# profiles:" in text
    assert config.load(path, env={}).sources["poll_interval"] == "default"
    path.write_text(text + "theme: textual-light\nwrong_key: 1\n")
    out = run_talkroom("config", "--edit", env={"EDITOR": "true"})
    assert out.returncode == 0 and b"unknown key 'wrong_key'" in out.stderr
    path.write_text("bell: sometimes\n")
    out = run_talkroom("config", "--edit", env={"EDITOR": "true"})
    assert out.returncode == 2 and out.stderr.count(b"\n") == 1


def test_the_human_view_names_every_source(isolated: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TALKROOM_MODERATOR")
    write_config(isolated, "moderator: zoe\n")
    out = run_talkroom("config", env={"TALKROOM_BELL": "no"}).stdout.decode()
    assert "moderator: zoe  [file " in out and "bell: false  [$TALKROOM_BELL]" in out
    assert "rescan_interval: 30.0  [default]" in out
    out = run_talkroom(
        "config",
        env={
            "TALKROOM_BELL": "no",
            "TALKROOM_MODERATOR": "",
            "TALKROOM_CONFIG": str(isolated / "none.yaml"),
        },
    )
    assert "moderator: (unset)" not in out.stdout.decode()
    assert "  [default: your login name]" in out.stdout.decode()


def test_a_lenient_load_keeps_the_good_values_and_lists_the_bad(isolated: Path) -> None:
    path = write_config(isolated, "poll_interval: fast\nbell: no\nmoderatr: x\n")
    cfg = config.load(path, env={"TALKROOM_HEARTBEAT_INTERVAL": "-1"}, lenient=True)
    assert cfg["bell"] is False and cfg["poll_interval"] == 1.0
    assert cfg["heartbeat_interval"] == 5.0 and len(cfg.errors) == 2 and cfg.warnings
    assert "'talkroom config --edit'" in cfg.errors[0]
    assert "fix or unset the variable" in cfg.errors[1]
    with pytest.raises(BadInput, match="poll_interval 'fast' is not valid: must be a number"):
        config.load(path, env={})


@pytest.mark.parametrize("text", ["poll_interval: fast\n", "a: [\n", "- a list\n"])
def test_doctor_reports_a_bad_config_and_checks_the_rest(
    isolated: Path, tmp_path: Path, text: str
) -> None:
    write_config(isolated, text)
    out = run_talkroom("--root", str(tmp_path), "doctor", "--json")
    checks = {c["check"]: c for c in json.loads(out.stdout)}
    assert out.returncode == 1 and not checks["config"]["ok"]
    assert "config --edit" in checks["config"]["fix"]
    assert checks["root"]["ok"] and "tmux" in checks  # the rest was still checked
