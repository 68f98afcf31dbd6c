"""The wheel carries the stylesheet, and the console starts from an installed wheel."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(REPO)],
        check=True,
        capture_output=True,
    )
    (built,) = out.glob("talkroom-*.whl")
    return built


def test_the_wheel_holds_the_stylesheet_and_the_command(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    assert "talkroom/styles/talkroom.tcss" in names
    assert "talkroom/console/app.py" in names and "talkroom/demo/agent.py" in names
    entry = next(n for n in names if n.endswith("entry_points.txt"))
    assert "talkroom = talkroom.cli:main" in zipfile.ZipFile(wheel).read(entry).decode()


def test_the_console_finds_its_stylesheet_when_installed(wheel: Path, tmp_path: Path) -> None:
    target = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "-q",
            "--target",
            str(target),
            str(wheel),
        ],
        check=True,
        capture_output=True,
    )
    probe = (
        "import sys; sys.path.insert(0, sys.argv[1]); "
        "from talkroom.console.app import stylesheet; print(stylesheet())"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe, str(target)],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
    ).stdout.strip()
    assert out == str(target / "talkroom" / "styles" / "talkroom.tcss")
