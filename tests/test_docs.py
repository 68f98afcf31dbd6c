"""The project's documents stay in step with the code: the protocol's sections and limits,
the receipts' fields, the wake-up line, and every pointer to them."""

from __future__ import annotations

import re
from pathlib import Path

from talkroom.core import journal, names
from talkroom.core.receipts import RECEIPT_KEYS, TAIL_CAP
from talkroom.watch.cursor import CURSOR_CAP
from talkroom.watch.heartbeat import HEARTBEAT_CAP
from talkroom.watch.instruction import WAKE_PREFIX
from talkroom.watch.registry import SESSIONS_CAP

PROJECT = Path(__file__).resolve().parent.parent
PROTOCOL = (PROJECT / "docs" / "protocol.md").read_text(encoding="utf-8")
CITATION = re.compile(r"docs/protocol\.md,?\s+sections?\s+(\d+(?:\.\d+)?)(?:-(\d+(?:\.\d+)?))?")


def sections() -> set[str]:
    """The numbers of the protocol's headings: `4`, `4.1`, ..."""
    return set(re.findall(r"^#{2,3} (\d+(?:\.\d+)?)\.? ", PROTOCOL, re.M))


def size(n: int) -> str:
    """How the protocol writes a size: `16 MiB`, `64 KiB`."""
    return f"{n // 2**20} MiB" if n % 2**20 == 0 else f"{n // 2**10} KiB"


def test_every_citation_of_the_protocol_names_a_section_it_has() -> None:
    known = sections()
    assert {"1", "2", "3", "3.1", "4", "4.1", "4.4", "5", "6", "6.4", "7"} <= known
    cited = []
    for path in [
        *PROJECT.glob("talkroom/**/*.py"),
        *PROJECT.glob("tests/**/*.py"),
        PROJECT / "README.md",
        PROJECT / "docs" / "architecture.md",
    ]:
        text = " ".join(path.read_text(encoding="utf-8").split())  # citations wrap lines
        for first, last in CITATION.findall(text):
            cited.append((path.relative_to(PROJECT), first, last))
    assert len(cited) >= 20
    wrong = [(str(p), a, b) for p, a, b in cited if a not in known or (b and b not in known)]
    assert wrong == []


def test_no_one_points_to_a_protocol_document_the_project_does_not_carry() -> None:
    for path in [
        *PROJECT.glob("talkroom/**/*.py"),
        PROJECT / "README.md",
        *PROJECT.glob("docs/*.md"),
    ]:
        text = path.read_text(encoding="utf-8")
        assert "PROTOCOL.md" not in text, path
        assert "../shared" not in text, path


def test_the_limits_in_the_protocol_are_the_code_s() -> None:
    flat = " ".join(PROTOCOL.split())
    assert names.NAME_RE.pattern in flat
    assert all(f"`{word}`" in flat for word in names.RESERVED)
    assert (
        f"A conversation is at most {size(names.MAX_FILE_BYTES)}, its header at most "
        f"{size(names.MAX_HEADER_BYTES)}, a body at most {size(names.MAX_BODY_BYTES)}"
    ) in flat
    assert (
        f"{size(names.MAX_FILE_BYTES)} a conversation, {size(HEARTBEAT_CAP)} a "
        f"`watcher.yaml`, {size(SESSIONS_CAP)} a `sessions.yaml`, {size(CURSOR_CAP)} a "
        f"cursor, {size(journal.CAP)} a journal; a log (`deliveries.jsonl`) only its "
        f"newest {size(TAIL_CAP)}"
    ) in flat


def test_the_receipt_fields_and_the_wake_up_line_are_the_code_s() -> None:
    receipts = PROTOCOL.split("### 6.4", 1)[1].split("\n## ", 1)[0]
    for key in (*RECEIPT_KEYS, "typed", "path"):
        assert re.search(rf"\b{key}\b", receipts), key
    assert (
        f"\n{WAKE_PREFIX} your turn in <id> (turn 3/20): read <file>, then run: "
        "talkroom reply <id> --as <name> --next <name> --root <root>\n" in PROTOCOL
    )


def test_the_readme_points_to_the_protocol_and_the_contributors_page() -> None:
    readme = (PROJECT / "README.md").read_text(encoding="utf-8")
    for doc in ("docs/protocol.md", "docs/architecture.md"):
        assert f"]({doc})" in readme and (PROJECT / doc).is_file()
