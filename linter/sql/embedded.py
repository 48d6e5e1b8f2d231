"""SQL inside Python string literals (to be completed by the SQL front end)."""

from __future__ import annotations

import ast

from querylint.source import SourceFile
from querylint.sqlsource import SqlFragment


def find_sql_in_python(source: SourceFile, tree: ast.Module) -> list[SqlFragment]:
    return []
