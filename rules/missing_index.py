from __future__ import annotations

from collections.abc import Iterator

from querylint.diagnostics import Diagnostic
from querylint.indexing import (
    DEFAULT_MAX_KEYS,
    Status,
    add_help,
    analyze,
    recurring_predicate,
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


class MissingIndex(QueryRule):
    """No index serves a query's filter, join or sort.

    ## Why is this bad?
    Without an index whose leading keys match the query, PostgreSQL reads the whole table (a
    sequential scan) for every execution; with `ORDER BY ... LIMIT` it also sorts every
    matching row to return a few. The suggested index follows the key-order rule: equality
    columns first, then the sort keys (so the index delivers the order and the `LIMIT` stops
    early), then at most one range column. Constant predicates on low-cardinality columns
    (`status = 'open'`, `deleted_at IS NULL`, booleans) become the partial index's `WHERE`.

    querylint has no statistics: a query on a tiny lookup table may be fine without an index.
    It stays quiet on tables or columns it does not know, and on predicates under `OR`.
    See `docs/advisor.md`; `querylint advise` writes the migration.

    ## Example
    ```sql
    SELECT * FROM orders WHERE customer_id = $1 AND status = 'open'
    ORDER BY created_at DESC LIMIT 20;
    ```

    ## Use instead
    ```sql
    CREATE INDEX CONCURRENTLY orders_customer_id_created_at_5c1e2a_idx
        ON orders (customer_id, created_at DESC) WHERE status = 'open';
    ```

    ## References
    - [PostgreSQL: Multicolumn Indexes](https://www.postgresql.org/docs/current/indexes-multicolumn.html)
    - [PostgreSQL: Indexes and ORDER BY](https://www.postgresql.org/docs/current/indexes-ordering.html)
    - [Use The Index, Luke: concatenated indexes](https://use-the-index-luke.com/sql/where-clause/the-equals-operator/concatenated-keys)
    """

    code = "QL301"
    name = "missing-index"
    options = {"max-keys": DEFAULT_MAX_KEYS}
    example_path = "queries.sql"

    VALID = [
        Example(
            "SELECT * FROM orders WHERE customer_id = $1 ORDER BY created_at DESC LIMIT 20;\n",
            files={"schema.sql": _SCHEMA + "CREATE INDEX orders_customer_created_idx ON orders (customer_id, created_at DESC);\n"},
        ),
        Example("SELECT * FROM orders WHERE id = $1;\n", files={"schema.sql": _SCHEMA}),
        Example("SELECT * FROM invoices WHERE customer_id = $1;\n", files={"schema.sql": _SCHEMA}),
    ]
    INVALID = [
        Example(
            "SELECT * FROM orders WHERE customer_id = $1 AND status = 'open'\nORDER BY created_at DESC LIMIT 20;\n",
            files={"schema.sql": _SCHEMA},
            line=1,
            message="`orders` is filtered on (customer_id, status) and sorted by created_at DESC with a LIMIT, but no index serves it",
        ),
    ]

    def check_query(self, query: Query, ctx: FileContext) -> Iterator[Diagnostic]:
        analysis = analyze(ctx.project, int(self.opts["max-keys"]))
        for r in analysis.for_query(query):
            s = r.suggestion
            if r.status is not Status.MISSING or r.need.has_expression or s is None or recurring_predicate(s):
                continue  # expression keys are QL306's, recurring partial predicates QL303's
            yield self.diagnostic(
                query.span,
                f"`{r.need.table}` is {r.need.describe()}, but no index serves it",
                help=add_help(s),
                related=[RelatedSpan(sp, label) for sp, label in related_spans(s, ctx.project.schema, query)],
                suggestion=s.to_suggestion(),
                confidence=r.need.confidence,
            )
