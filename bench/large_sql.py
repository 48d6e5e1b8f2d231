"""Write a large generated SQL corpus for ``bench/run.py`` (issue 13, item 8: time must grow
linearly with the size of the SQL).

    python bench/large_sql.py [--mb 4.6] [--doublings 0] [--out bench/corpus/large-sql]

Each corpus folder holds one ``big.sql`` of about ``--mb`` MB, on one line (CR-only line
endings, as an old Mac editor writes them), mixing the shapes that were super-linear: SELECTs
of 5,000 columns, an ``IN`` list (64,000 values at 4.6 MB), subqueries nested 10 to 39 levels,
many small statements, and one statement nested deeper than the limit (one
QL001). ``--doublings N`` also writes ``large-sql-half``, ``-quarter``... folders, each half
the size of the previous one, to see each doubling cost ~2x:

    for d in bench/corpus/large-sql*; do python bench/run.py $d --runs 3; done

bench/corpus/ is gitignored: the corpus is regenerated, never committed.
"""

from __future__ import annotations

import argparse
import os


def wide_select(i: int, columns: int = 5_000) -> str:
    return "SELECT " + ", ".join(f"c{j}" for j in range(columns)) + f" FROM wide{i} WHERE id = {i}"


def in_list(values: int = 64_000) -> str:
    return "SELECT id FROM orders WHERE id IN (" + ", ".join(str(v) for v in range(values)) + ")"


def nested(levels: int) -> str:
    sql = "SELECT id FROM t0 WHERE id = 1"
    for i in range(levels):
        sql = f"SELECT id FROM t{i + 1} WHERE id IN ({sql})"
    return sql


SMALL = "SELECT id, name FROM users WHERE id = $1 AND status = 'open' ORDER BY name"


def statements(size: int) -> list[str]:
    """Statements whose text adds up to about ``size`` characters, the same mix at every size."""
    # one statement over the depth limit (one QL001), one IN list (64,000 values at 4.6 MB)
    out = [nested(200), in_list(size // 72)]
    total = sum(len(s) + 2 for s in out)
    i = 0
    while total < size:
        i += 1
        # per round (~43 KB): a wide SELECT, a 10- to 39-level subquery nest, 100 small statements
        chunk = [wide_select(i), nested(10 + i % 30), *([SMALL] * 100)]
        out.extend(chunk)
        total += sum(len(s) + 2 for s in chunk)
    return out


def write(folder: str, size: int) -> None:
    # a folder named .git makes the corpus the top of its own work tree: bench/corpus/ is in
    # this repository's .gitignore, which querylint respects, as git does, from the top down
    os.makedirs(os.path.join(folder, ".git"), exist_ok=True)
    text = ";\r".join(statements(size)) + ";\r"
    with open(os.path.join(folder, "big.sql"), "w", encoding="utf-8", newline="") as fh:
        fh.write(text)
    print(f"{folder}/big.sql: {len(text) / 1e6:.2f} MB")


NAMES = ["", "-half", "-quarter", "-eighth", "-sixteenth"]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mb", type=float, default=4.6)
    ap.add_argument("--doublings", type=int, default=0, choices=range(len(NAMES)))
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "large-sql"))
    args = ap.parse_args()
    size = int(args.mb * 1e6)
    for k in range(args.doublings + 1):
        write(args.out + NAMES[k], size >> k)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
