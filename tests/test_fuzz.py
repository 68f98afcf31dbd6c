"""A bounded run of the coverage-guided fuzzer (atheris) over the parser, the header loader
and the sanitiser; a finding fails the test and leaves its input in the test's folder."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

FUZZ = Path(__file__).parent / "fuzz"
SECONDS = int(os.environ.get("TALKROOM_FUZZ_SECONDS", "30"))


def test_fuzz_the_readers_of_untrusted_bytes(tmp_path: Path) -> None:
    pytest.importorskip("atheris", reason="atheris is not installed (pip install atheris)")
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for seed in (FUZZ / "corpus").iterdir():
        (corpus / seed.name).write_bytes(seed.read_bytes())
    result = subprocess.run(
        [
            sys.executable,
            str(FUZZ / "fuzz_protocol.py"),
            f"-max_total_time={SECONDS}",
            "-rss_limit_mb=2048",
            f"-artifact_prefix={tmp_path}/",
            str(corpus),
        ],
        capture_output=True,
        text=True,
        timeout=SECONDS + 120,
    )
    tail = "\n".join(result.stderr.splitlines()[-30:])
    findings = list(tmp_path.glob("crash-*")) + list(tmp_path.glob("timeout-*"))
    assert result.returncode == 0 and not findings, f"the fuzzer found a bug:\n{tail}"
    runs = [line for line in result.stderr.splitlines() if line.startswith("Done ")]
    assert runs and int(runs[0].split()[1]) > 1000, tail
    print(runs[0])
