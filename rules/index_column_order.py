from __future__ import annotations

from collections.abc import Iterator

from querylint.diagnostics import Confidence, Diagnostic
from querylint.indexing import (
    DEFAULT_MAX_KEYS,
    Status,
    add_help,
    analyze,
    index_text,
    related_spans,
)
from querylint.ir import Query
from querylint.rule import Example, FileContext, QueryRule
from querylint.source import RelatedSpan

_SCHEMA = """\
CREATE TABLE orders (
    id bigint PRIMARY KEY,
    customer_id bigint NOT NULL,
    status text NOT NULL,
    created_at timestamptz NOT NULL
);
"""


class IndexColumnOrder(QueryRule):
    """An index covers the query's columns, but in an order that cannot serve it.

    ## Why is this bad?
    A B-tree index is searched from its leading key: equality keys must come first, then the
    sort keys (for `ORDER BY ... LIMIT` to stop after a few rows), then one range key. An index
    on `(customer_id)` finds a customer's orders but must read and sort all of them to return
    the 20 newest; an index on `(created_at, customer_id)` puts the range key first, so the
    equality on `customer_id` can no longer narrow the scan.

    ## Example
    ```sql
    CREATE INDEX orders_customer_idx ON orders (customer_id);
    SELECT * FROM orders WHERE customer_id = $1 ORDER BY created_at DESC LIMIT 20;
    ```

    ## Use instead
    ```sql
    CREATE INDEX CONCURRENTLY orders_customer_id_created_at_idx ON orders (customer_id, created_at DESC);
    ```
    The new index has the old one as a left prefix, so the old one can then be dropped
    (`redundant-index`).

    ## References
    - [PostgreSQL: Multicolumn Indexes](https://www.postgresql.org/docs/current/indexes-multicolumn.html)
    - [Use The Index, Luke: index range scans](https://use-the-index-luke.com/sql/where-clause/searching-for-ranges/greater-less-between-tuning-sql-access-filter-predicates)
    """

    code = "QL302"
    name = "index-column-order"
    options = {"max-keys": DEFAULT_MAX_KEYS}
    example_path = "queries.sql"

    VALID = [
        Example(
            "SELECT * FROM orders WHERE customer_id = $1 ORDER BY created_at LIMIT 20;\n",
            files={"schema.sql": _SCHEMA + "CREATE INDEX orders_c_idx ON orders (customer_id, created_at DESC);\n"},
        ),
        Example(
            "SELECT * FROM orders WHERE customer_id = $1 ORDER BY created_at DESC;\n",
            files={"schema.sql": _SCHEMA + "CREATE INDEX orders_c_idx ON orders (customer_id);\n"},
        ),
    ]
    INVALID = [
        Example(
            "SELECT * FROM orders WHERE customer_id = $1 ORDER BY created_at DESC LIMIT 20;\n",
            files={"schema.sql": _SCHEMA + "CREATE INDEX orders_c_idx ON orders (customer_id);\n"},
            line=1,
            message="`orders` is filtered on (customer_id) and sorted by created_at DESC with a LIMIT, but index `orders_c_idx` (customer_id) cannot serve it: it lacks the sort key created_at DESC, so every matching row is read and sorted before the LIMIT",
        ),
        Example(
            "SELECT * FROM orders WHERE customer_id = $1 AND created_at > $2;\n",
            files={"schema.sql": _SCHEMA + "CREATE INDEX orders_c_idx ON orders (created_at, customer_id);\n"},
            line=1,
            message="`orders` is filtered on (customer_id, created_at), but index `orders_c_idx` (created_at, customer_id) cannot serve it: its range key created_at comes before the equality key customer_id",
        ),
    ]

    def check_query(self, query: Query, ctx: FileContext) -> Iterator[Diagnostic]:
        analysis = analyze(ctx.project, int(self.opts["max-keys"]))
        for r in analysis.for_query(query):
            if r.status is not Status.WRONG_ORDER or r.index is None or r.suggestion is None:
                continue
            s = r.suggestion
            related = [RelatedSpan(r.index.provenance, "this index has the keys in another order")] if r.index.provenance else []
            related += [RelatedSpan(sp, label) for sp, label in related_spans(s, ctx.project.schema, query)]
            yield self.diagnostic(
                query.span,
                f"`{r.need.table}` is {r.need.describe()}, but index {index_text(r.index)} cannot serve it: {r.reason}",
                help=add_help(s),
                related=related,
                suggestion=s.to_suggestion(),
                confidence=Confidence.MEDIUM,
            )
