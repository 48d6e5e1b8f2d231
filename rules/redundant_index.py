from __future__ import annotations

from collections.abc import Iterator

from querylint.diagnostics import Confidence, Diagnostic
from querylint.indexing import (
    index_text,
    is_test_path,
    key_ident,
    opaque_definition,
    redundant_to,
    uncertain_tables,
)
from querylint.rule import Example, ProjectContext, ProjectRule
from querylint.source import RelatedSpan

_ORDERS = "CREATE TABLE orders (id bigint PRIMARY KEY, customer_id bigint NOT NULL, created_at timestamptz NOT NULL);\n"


def _help(name: str | None, path: str) -> str:
    label = f"`{name}`" if name else "this index"
    if path.endswith(".py"):  # declared by a model or migration: the ORM must forget it too
        return f"Remove {label} from the model (Meta.indexes, db_index=True or __table_args__) and drop it in a new migration"
    return f"Drop index {label}"


class RedundantIndex(ProjectRule):
    """An index duplicates another, or is a non-unique left prefix of another one.

    ## Why is this bad?
    Every index slows down every write, takes disk and cache, and is vacuumed. An index on
    `(customer_id)` next to one on `(customer_id, created_at)` (same predicate, same method)
    serves no query that the wider one cannot serve almost as well. Unique indexes are kept:
    they enforce a constraint. Indexes PostgreSQL or the ORM create implicitly (primary keys,
    unique constraints, Django's foreign-key index) are not reported.

    ## Example
    ```sql
    CREATE INDEX orders_customer_idx ON orders (customer_id);
    CREATE INDEX orders_customer_created_idx ON orders (customer_id, created_at);
    ```

    ## Use instead
    ```sql
    CREATE INDEX orders_customer_created_idx ON orders (customer_id, created_at);
    ```

    ## Migration
    Drop it without blocking writes: `DROP INDEX CONCURRENTLY IF EXISTS orders_customer_idx;`
    (Django: `RemoveIndexConcurrently`; Alembic: `op.drop_index(..., postgresql_concurrently=True)`
    inside `autocommit_block()`).

    ## References
    - [PostgreSQL: Examining Index Usage](https://www.postgresql.org/docs/current/indexes-examine.html)
    """

    code = "QL305"
    name = "redundant-index"
    example_path = "schema.sql"

    VALID = [
        Example(_ORDERS + "CREATE INDEX orders_customer_idx ON orders (customer_id);\nCREATE INDEX orders_created_idx ON orders (created_at, customer_id);\n"),
        Example(_ORDERS + "CREATE UNIQUE INDEX orders_customer_key ON orders (customer_id);\nCREATE INDEX orders_cc_idx ON orders (customer_id, created_at);\n"),
        Example(_ORDERS + "CREATE INDEX orders_customer_idx ON orders (customer_id) WHERE created_at > '2020-01-01';\nCREATE INDEX orders_cc_idx ON orders (customer_id, created_at);\n"),
    ]
    INVALID = [
        Example(
            _ORDERS + "CREATE INDEX orders_customer_idx ON orders (customer_id);\nCREATE INDEX orders_cc_idx ON orders (customer_id, created_at);\n",
            line=2,
            message="Index `orders_customer_idx` on `orders` (customer_id) is a left prefix of `orders_cc_idx` (customer_id, created_at), which serves the same queries",
        ),
        Example(
            _ORDERS + "CREATE INDEX orders_a_idx ON orders (customer_id);\nCREATE INDEX orders_b_idx ON orders (customer_id);\n",
            line=3,
            message="Index `orders_b_idx` on `orders` (customer_id) duplicates `orders_a_idx` (customer_id)",
        ),
    ]

    def check_project(self, ctx: ProjectContext) -> Iterator[Diagnostic]:
        uncertain = uncertain_tables(ctx.project)
        for table in ctx.project.schema.tables.values():
            if table.name in uncertain:
                continue  # we may not know all its indexes
            for idx in table.indexes:
                if idx.implicit or idx.primary or idx.provenance is None or is_test_path(idx.provenance.path):
                    continue
                other = redundant_to(idx, table)
                if other is None or opaque_definition(ctx.project, idx) or opaque_definition(ctx.project, other):
                    continue
                label = f"`{idx.name}`" if idx.name else "An unnamed index"
                cols = ", ".join(k.text for k in idx.keys)
                same = [key_ident(k) for k in idx.keys] == [key_ident(k) for k in other.keys]
                if same:
                    msg = f"Index {label} on `{table.name}` ({cols}) duplicates {index_text(other)}"
                else:
                    msg = f"Index {label} on `{table.name}` ({cols}) is a left prefix of {index_text(other)}, which serves the same queries"
                related = [RelatedSpan(other.provenance, "the index that makes it redundant")] if other.provenance else []
                yield self.diagnostic(
                    idx.provenance,
                    msg.replace("Index An unnamed index", "An unnamed index"),
                    help=_help(idx.name, idx.provenance.path),
                    related=related,
                    confidence=Confidence.HIGH if same else Confidence.MEDIUM,
                )
