"""Search over 1,000 conversations x 20 turns, as the console does it.

    python bench/bench_search.py [--convs N] [--turns N]

The console already holds every parsed conversation (its tailer read them); search reuses
them and an index of lower-cased text kept per revision. Reports the first search (which
builds the index) and later searches (index reused), medians over several queries.
Goal: results within 0.5 s.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bench_console import make_root
from talkroom.core.search import Index, search
from talkroom.watch.tracker import Tracker

QUERIES = ["paragraph", "what do you think", "second item", "conversation 999", "nothing-x"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--convs", type=int, default=1000)
    parser.add_argument("--turns", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = make_root(Path(tmp) / "talks", args.convs, args.turns)
        tracker = Tracker(root, poll=True)  # what the console's tailer holds
        tracker.start()
        tracker.tick(forced=True)
        convs = list(tracker.conversations.values())
        index = Index()
        start = time.perf_counter()
        hits = search(convs, QUERIES[0], index=index)
        first = time.perf_counter() - start
        later = []
        for query in QUERIES * 3:
            start = time.perf_counter()
            search(convs, query, index=index)
            later.append(time.perf_counter() - start)
    print(
        json.dumps(
            {
                "conversations": len(convs),
                "turns_each": args.turns,
                "first_search_s": round(first, 3),
                "hits_first": len(hits),
                "later_searches_median_s": round(statistics.median(later), 3),
                "later_searches_max_s": round(max(later), 3),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
