"""The migration graphs' topological sort gives networkx's order, and sees cycles."""

from __future__ import annotations

import random

import networkx as nx
import pytest
from querylint.migrations.graph import Cycle, DiGraph


def _both(nodes: list[str], edges: list[tuple[str, str]]) -> tuple[DiGraph, nx.DiGraph]:
    ours, theirs = DiGraph(), nx.DiGraph()
    for n in nodes:
        ours.add_node(n, n.upper())
        theirs.add_node(n)
    for u, v in edges:
        ours.add_edge(u, v)
        theirs.add_edge(u, v)
    return ours, theirs


def test_same_order_as_networkx_on_random_dags() -> None:
    rng = random.Random(3)
    for _ in range(300):
        n = rng.randint(0, 25)
        nodes = [f"{rng.choice('abc')}{i:02d}" for i in rng.sample(range(99), n)]
        rank = {v: i for i, v in enumerate(rng.sample(nodes, n))}  # a hidden order: no cycle
        edges = [(u, v) for u in nodes for v in nodes if rank[u] < rank[v] and rng.random() < 0.15]
        edges += edges[: rng.randint(0, 3)]  # a repeated edge counts once
        ours, theirs = _both(nodes, edges)
        key = (lambda s: s[1:]) if rng.random() < 0.5 else (lambda s: s)  # ties on the key too
        assert ours.lexicographical_topological_sort(key) == list(nx.lexicographical_topological_sort(theirs, key=key))


def test_a_cycle_is_reported() -> None:
    ours, theirs = _both(["a", "b", "c", "d"], [("a", "b"), ("b", "c"), ("c", "b"), ("a", "d")])
    with pytest.raises(Cycle):
        ours.lexicographical_topological_sort(lambda s: s)
    with pytest.raises(nx.NetworkXUnfeasible):
        list(nx.lexicographical_topological_sort(theirs))
    assert ours.nodes == {"a": "A", "b": "B", "c": "C", "d": "D"} and ours.successors("a") == ["b", "d"]


def test_migrations_need_no_networkx(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import subprocess
    import sys

    app = tmp_path / "shop" / "migrations"
    app.mkdir(parents=True)
    (tmp_path / "shop" / "__init__.py").write_text("")
    (app / "__init__.py").write_text("")
    (app / "0001_initial.py").write_text(
        "from django.db import migrations, models\n\n\nclass Migration(migrations.Migration):\n"
        "    initial = True\n    dependencies = []\n    operations = [\n"
        "        migrations.CreateModel(name='Tag', fields=[('id', models.AutoField(primary_key=True))]),\n    ]\n")
    (app / "0002_tag_name.py").write_text(
        "from django.db import migrations, models\n\n\nclass Migration(migrations.Migration):\n"
        "    dependencies = [('shop', '0001_initial')]\n    operations = [\n"
        "        migrations.AddField(model_name='tag', name='name', field=models.CharField(max_length=9, null=True)),\n    ]\n")
    code = ("import sys; from querylint.cli import main; rc = main(['check', '--isolated', '--no-cache', '--output-format', 'concise', '.']);"
            " print(sorted(m for m in sys.modules if m.split('.')[0] == 'networkx')[:1], rc)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path)
    lines = proc.stdout.splitlines()
    assert lines[-1] == "[] 1", proc.stdout + proc.stderr
    # 0001 ran first: the table 0002 alters is known
    assert lines[0].startswith("shop/migrations/0002_tag_name.py:7:9: QL416 [missing-lock-timeout] `ALTER TABLE ... ADD COLUMN` takes an ACCESS EXCLUSIVE lock on `shop_tag`")
