from __future__ import annotations

from collections.abc import Iterator

from querylint.advise.naming import index_name
from querylint.diagnostics import Diagnostic, IndexKey, IndexSuggestion
from querylint.indexing import fk_is_indexed, is_test_path, uncertain_tables
from querylint.rule import Example, ProjectContext, ProjectRule
from querylint.source import RelatedSpan

_CUSTOMERS = "CREATE TABLE customers (id bigint PRIMARY KEY, name text NOT NULL);\n"


class UnindexedForeignKey(ProjectRule):
    """A foreign key has no index whose leading column it is.

    ## Why is this bad?
    PostgreSQL indexes the referenced side (a primary key) but never the referencing columns.
    Without an index on `orders.customer_id`, every `DELETE` or key `UPDATE` on `customers`
    scans `orders` to check the constraint (holding its locks meanwhile), and every join or
    lookup from a customer to its orders scans too. SQLAlchemy and raw SQL never add this
    index; Django does, unless `db_index=False`.

    ## Example
    ```sql
    CREATE TABLE orders (id bigint PRIMARY KEY, customer_id bigint REFERENCES customers (id));
    ```

    ## Use instead
    ```sql
    CREATE INDEX CONCURRENTLY orders_customer_id_idx ON orders (customer_id);
    ```

    ## References
    - [PostgreSQL: Foreign Keys](https://www.postgresql.org/docs/current/ddl-constraints.html#DDL-CONSTRAINTS-FK)
    - [Cybertec: Index your foreign keys](https://www.cybertec-postgresql.com/en/index-your-foreign-key/)
    """

    code = "QL304"
    name = "unindexed-foreign-key"
    example_path = "schema.sql"

    VALID = [
        Example(_CUSTOMERS + "CREATE TABLE orders (id bigint PRIMARY KEY, customer_id bigint REFERENCES customers (id));\nCREATE INDEX orders_customer_idx ON orders (customer_id, id);\n"),
        Example(_CUSTOMERS + "CREATE TABLE customer_tags (customer_id bigint REFERENCES customers (id), tag text);\nCREATE UNIQUE INDEX customer_tags_key ON customer_tags (customer_id, tag);\n"),
    ]
    INVALID = [
        Example(
            _CUSTOMERS + "CREATE TABLE orders (id bigint PRIMARY KEY, customer_id bigint REFERENCES customers (id));\n",
            line=2,
            message="Foreign key `orders` (customer_id) -> `customers` has no index leading with customer_id: deletes on `customers` and joins from it scan `orders`",
        ),
    ]

    def check_project(self, ctx: ProjectContext) -> Iterator[Diagnostic]:
        uncertain = uncertain_tables(ctx.project)
        for table in ctx.project.schema.tables.values():
            if table.name in uncertain:
                continue  # we may not know all its indexes
            for fk in table.foreign_keys:
                if fk.provenance is None or is_test_path(fk.provenance.path) or not fk.columns or fk_is_indexed(table, fk.columns):
                    continue
                cols = ", ".join(fk.columns)
                keys = tuple(IndexKey(column=c) for c in fk.columns)
                name = index_name(table.name, keys)
                related = [RelatedSpan(table.provenance, f"`{table.name}` is defined here")] if table.provenance else []
                yield self.diagnostic(
                    fk.provenance,
                    f"Foreign key `{table.name}` ({cols}) -> `{fk.ref_table}` has no index leading with {cols}: deletes on `{fk.ref_table}` and joins from it scan `{table.name}`",
                    help=f"Add index {table.name} ({cols})",
                    related=related,
                    suggestion=IndexSuggestion(table=table.declared, keys=tuple(IndexKey(column=table.column_spelling(c)) for c in fk.columns),
                                              name=name, model=table.model),
                )
