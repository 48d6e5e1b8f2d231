from __future__ import annotations

from collections.abc import Iterator

from querylint.diagnostics import Confidence, Diagnostic
from querylint.indexing import DEFAULT_MAX_KEYS, add_help, analyze, recurring_predicate
from querylint.rule import Example, ProjectContext, ProjectRule
from querylint.source import RelatedSpan

_SCHEMA = """\
CREATE TABLE users (
    id bigint PRIMARY KEY,
    email text NOT NULL,
    team_id bigint NOT NULL,
    deleted_at timestamptz
);
"""


class MissingPartialIndex(ProjectRule):
    """The same constant predicate recurs across queries, and no partial index serves them.

    ## Why is this bad?
    Soft deletes (`deleted_at IS NULL`), status slices (`status = 'active'`) and flags
    (`is_active`) are repeated by most queries on a table. As a key column such a predicate
    adds little (few distinct values); as the `WHERE` of a partial index it shrinks the index
    to the rows the application reads, and one index serves every query that repeats it.
    The low-cardinality guess is a heuristic (column type and name), see `docs/advisor.md`.

    ## Example
    ```sql
    SELECT * FROM users WHERE team_id = $1 AND deleted_at IS NULL;
    SELECT count(*) FROM users WHERE team_id = $1 AND deleted_at IS NULL;
    ```

    ## Use instead
    ```sql
    CREATE INDEX CONCURRENTLY users_team_id_0c1d2e_idx ON users (team_id) WHERE deleted_at IS NULL;
    ```

    ## References
    - [PostgreSQL: Partial Indexes](https://www.postgresql.org/docs/current/indexes-partial.html)
    """

    code = "QL303"
    name = "missing-partial-index"
    options = {"max-keys": DEFAULT_MAX_KEYS}
    example_path = "queries.sql"

    VALID = [
        Example(
            "SELECT * FROM users WHERE team_id = $1 AND deleted_at IS NULL;\nSELECT id FROM users WHERE team_id = $1 AND deleted_at IS NULL;\n",
            files={"schema.sql": _SCHEMA + "CREATE INDEX users_team_live_idx ON users (team_id) WHERE deleted_at IS NULL;\n"},
        ),
        Example("SELECT * FROM users WHERE team_id = $1 AND deleted_at IS NULL;\n", files={"schema.sql": _SCHEMA}),
    ]
    INVALID = [
        Example(
            "SELECT * FROM users WHERE team_id = $1 AND deleted_at IS NULL;\nSELECT count(*) FROM users WHERE team_id = $1 AND deleted_at IS NULL;\n",
            files={"schema.sql": _SCHEMA},
            line=1,
            message="2 queries on `users` repeat the constant predicate `deleted_at IS NULL`, but no partial index serves them",
        ),
    ]

    def check_project(self, ctx: ProjectContext) -> Iterator[Diagnostic]:
        analysis = analyze(ctx.project, int(self.opts["max-keys"]))
        for s in analysis.suggestions:
            if not recurring_predicate(s):
                continue
            spans = sorted({n.query.span for n in s.needs}, key=lambda sp: (sp.path, sp.start))
            first = spans[0]
            table = ctx.project.schema.table(s.table)
            related = [RelatedSpan(sp, "the same predicate is repeated here") for sp in spans[1:]]
            if table is not None and table.provenance is not None:
                related.append(RelatedSpan(table.provenance, f"`{s.table}` is defined here"))
            yield self.diagnostic(
                first,
                f"{len(spans)} queries on `{s.table}` repeat the constant predicate `{s.predicate}`, but no partial index serves them",
                help=add_help(s).replace("Add index", "Add partial index", 1),
                related=related,
                suggestion=s.to_suggestion(),
                confidence=Confidence.MEDIUM,
            )
