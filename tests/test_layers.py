"""The layers stay honest: the core and the agents' helper never load the UI or tmux libraries."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import Talk, run_talkroom

HEAVY = ("textual", "rich", "libtmux", "watchdog", "yaml", "platformdirs", "dataclasses")
HEAVY += ("mcp", "mcp_types", "pydantic", "anyio")  # only `talkroom mcp` loads the MCP SDK

PROBE = """
import json, sys
from talkroom.cli import main
code = main(sys.argv[1:])
loaded = sorted({m.split('.')[0] for m in sys.modules} & set(%r))
print(json.dumps({"code": code, "loaded": loaded}), file=sys.stderr)
"""


def modules_loaded_by(*args: str, stdin: bytes = b"") -> tuple[int, list[str]]:
    """Run one helper command in a fresh interpreter; which heavy modules did it load?"""
    result = subprocess.run(
        [sys.executable, "-c", PROBE % (HEAVY,), *args],
        input=stdin,
        capture_output=True,
        check=False,
    )
    report = json.loads(result.stderr.decode().strip().splitlines()[-1])
    return report["code"], report["loaded"]


def test_importing_the_core_loads_no_ui_tmux_or_watch_library() -> None:
    code = (
        "import sys, talkroom.core.ops, talkroom.core.store, talkroom.core.views, "
        "talkroom.core.config; print(sorted({m.split('.')[0] for m in sys.modules} & "
        f"set({HEAVY!r})))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


def test_the_helper_commands_load_nothing_heavy(talk: Talk) -> None:
    root = str(talk.root.path)
    code, loaded = modules_loaded_by(
        "--root", root, "open", "--topic", "t", "--as", "a", "--with", "b", "--body", "x"
    )
    assert (code, loaded) == (0, [])
    conv_id = json.loads(run_talkroom("--root", root, "list", "--json").stdout)[0]["id"]
    for args in (
        ["reply", conv_id, "--as", "b", "--next", "a", "--body", "y"],
        ["show", conv_id],
        ["show", conv_id, "--json"],
        ["list"],
        ["list", "--json"],
        ["inject", conv_id, "--body", "z"],
        ["pause", conv_id],
        ["resume", conv_id],
        ["next", conv_id, "b"],
        ["extend", conv_id, "--by", "2"],
        ["nudge", conv_id],
        ["guide"],
        ["guide", "--mcp", "--as", "a"],
    ):
        code, loaded = modules_loaded_by("--root", root, *args)
        assert (code, loaded) == (0, []), args


def test_show_follow_prints_turns_as_they_are_appended(talk: Talk) -> None:
    conv_id = talk.open()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "talkroom",
            "--root",
            str(talk.root.path),
            "show",
            conv_id,
            "--follow",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        lines: list[str] = []
        while "NEXT: beta" not in lines:
            lines.append(proc.stdout.readline().rstrip("\n"))
        talk("reply", conv_id, "--as", "beta", "--next", "alpha", "--body", "streamed reply")
        start = time.monotonic()
        while "streamed reply" not in lines:
            lines.append(proc.stdout.readline().rstrip("\n"))
        assert time.monotonic() - start < 3
        talk("close", conv_id, "--resolution", "done")
        assert proc.wait(timeout=5) == 0  # follow ends when the conversation closes
        assert "Action: close" in proc.stdout.read()
    finally:
        proc.kill()
    again = run_talkroom("--root", str(talk.root.path), "show", conv_id, "--follow", timeout=10)
    assert again.returncode == 0 and b"Action: close" in again.stdout  # closed: nothing to wait for


def test_python_dash_m_and_the_console_script_agree() -> None:
    script = Path(sys.executable).with_name("talkroom")
    installed = subprocess.run([str(script), "--version"], capture_output=True, check=True)
    assert installed.stdout == run_talkroom("--version").stdout
    assert installed.stdout.startswith(b"talkroom ")
