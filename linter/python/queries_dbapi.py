"""DB-API call sites: ``cursor.execute`` / ``executemany`` as database accesses.

The SQL inside the string is the SQL front end's business (it already becomes a ``Query``);
here we only recognise the *call* so the loop rules know a round trip happens, and whether
the literal SQL writes (``INSERT`` / ``UPDATE`` / ``DELETE``) for the write-in-loop rule.
"""

from __future__ import annotations

import ast
import re

CURSOR_NAMES = frozenset({"cursor", "cur", "curs", "c"})
EXECUTE = frozenset({"execute", "executemany", "fetchall", "fetchone"})
#: modules whose presence makes ``conn.execute`` a database call
DB_MODULES = ("sqlalchemy", "psycopg", "psycopg2", "sqlite3", "django.db", "asyncpg", "pymysql", "MySQLdb")


def is_cursor_name(name: str) -> bool:
    return name in CURSOR_NAMES or name.endswith("_cursor") or name.endswith("cursor")


def sql_verb(node: ast.expr | None) -> str | None:
    """``INSERT`` / ``UPDATE`` / ``DELETE`` / ``SELECT`` ... of a literal SQL argument."""
    if node is None:
        return None
    if isinstance(node, ast.Call) and node.args:  # text("...") / sql.SQL("...")
        return sql_verb(node.args[0])
    text: str | None = None
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        text = node.value
    elif isinstance(node, ast.JoinedStr):
        text = "".join(v.value for v in node.values if isinstance(v, ast.Constant) and isinstance(v.value, str))
    if not text:
        return None
    words = text.strip().split(None, 1)
    return words[0].upper() if words else None


#: SQL text ending where a table name goes: ``... FROM "``, ``UPDATE ``, ``INSERT INTO ``
_BEFORE_TABLE = re.compile(r"\b(from|join|update|into|table)\s+[\"`\[]?$", re.I)


def interpolated_tables(node: ast.expr | None) -> list[ast.expr]:
    """The expressions an f-string SQL interpolates where a table name goes
    (``f'SELECT * FROM "{name}"'`` -> ``name``); also inside ``text(...)``."""
    if isinstance(node, ast.Call) and node.args:
        node = node.args[0]
    if not isinstance(node, ast.JoinedStr):
        return []
    out: list[ast.expr] = []
    before = ""
    for part in node.values:
        if isinstance(part, ast.Constant) and isinstance(part.value, str):
            before += part.value
        elif isinstance(part, ast.FormattedValue):
            if _BEFORE_TABLE.search(before):
                out.append(part.value)
            before += "?"
    return out
