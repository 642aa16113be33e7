"""The memory console's page times on a large store (issue 29): the namespace tree, a big and
a small namespace's table, and an explained search, over N memories in 500 namespaces
(hash embedder: the store's and the console's own work, no model).

    .venv/bin/python bench/console.py [N]
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from langgraph.store.base import PutOp
from starlette.testclient import TestClient

from langmem.console import create_app
from langmem.store import SQLiteStore
from langmem.testing import HashEmbeddings

PAGES = [
    ("namespace tree (home)", "/", {}),
    ("table of users/ (all)", "/namespace", [("ns", "users")]),
    ("table of users/u7", "/namespace", [("ns", "users"), ("ns", "u7")]),
    ("explained search", "/search", {"q": "tea hiking", "where": "[]"}),
]


def main(n: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "m.sqlite"
        with SQLiteStore(path, index={"dims": 256, "embed": HashEmbeddings(256)}) as store:
            store.batch([
                PutOp(("users", f"u{i % 500}"), f"k{i}", {"content": f"memory {i} about tea and hiking"})
                for i in range(n)
            ])
            web = TestClient(create_app(store), base_url="http://127.0.0.1")
            print(f"{n:,} memories; median of 3 requests per page")
            for title, url, params in PAGES:
                times = []
                for _ in range(3):
                    start = time.perf_counter()
                    assert web.get(url, params=params).status_code == 200
                    times.append(time.perf_counter() - start)
                print(f"  {title:24} {sorted(times)[1]:.2f} s")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 50_000)
