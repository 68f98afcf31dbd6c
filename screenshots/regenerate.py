"""Regenerate the README's screenshots from the snapshot tests' fixtures.

    .venv/bin/python screenshots/regenerate.py

Runs tests/test_snapshots.py with --snapshot-update (fixed clock, size and data) and
copies the chosen SVGs here.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SNAPSHOTS = HERE.parent / "tests" / "__snapshots__" / "test_snapshots"
CHOSEN = {
    "test_live_conversation_with_receipts.svg": "console.svg",
    "test_needs_you.svg": "needs-you.svg",
    "test_dialogs[inject].svg": "inject.svg",
    "test_dialogs[help].svg": "keys.svg",
    "test_80x24.svg": "80x24.svg",
    "test_light_theme.svg": "light.svg",
}


def main() -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            str(HERE.parent / "tests" / "test_snapshots.py"),
            "--snapshot-update",
        ],
        check=True,
        cwd=HERE.parent,
    )
    for source, target in CHOSEN.items():
        shutil.copyfile(SNAPSHOTS / source, HERE / target)
        print(f"screenshots/{target}")


if __name__ == "__main__":
    main()
