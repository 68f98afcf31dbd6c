"""A reader process for the network tests: polls one file until told to stop, then reports
every snapshot it accepted as JSON lines of [revision, edited_by_hand, trailer_ok].

    python reader_probe.py PATH STOP_FILE OUT_FILE
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from talkroom.core.store import Reader


def main() -> None:
    path, stop, out = (Path(a) for a in sys.argv[1:4])
    reader = Reader()
    accepted: list[tuple[int, bool, bool]] = []
    last = None
    while not stop.exists():
        snap = reader.poll(path)
        conv = snap.conv
        if conv is not None and not snap.pending and conv is not last:
            accepted.append((conv.revision, conv.edited_by_hand, conv.trailer_ok))
            last = conv
        time.sleep(0.005)
    out.write_text("\n".join(json.dumps(a) for a in accepted))


if __name__ == "__main__":
    main()
