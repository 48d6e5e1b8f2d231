from __future__ import annotations

from querylint.diagnostics import Severity
from querylint.rule import Example, ParseErrorRule


class ParseError(ParseErrorRule):
    """A file or SQL fragment could not be read or parsed, so it was not checked.

    ## Why is this bad?
    querylint cannot check what it cannot parse: a Python syntax error, SQL that PostgreSQL's
    own parser (via pglast) rejects, a file that is not UTF-8 text, contains NUL bytes, or is
    larger than `max-file-size`. The rest of the run goes on.

    A path named on the command line that does not exist is reported here too ("file not
    found", exit code 1), as ruff reports `E902 No such file or directory`.

    ## Example
    ```sql
    SELEC id FROM users;
    ```

    ## Use instead
    ```sql
    SELECT id FROM users;
    ```

    ## References
    - [pglast](https://pglast.readthedocs.io/)
    """

    code = "QL001"
    name = "parse-error"
    severity = Severity.ERROR

    VALID = [Example("SELECT id FROM users;\n")]
    INVALID = [
        Example("SELEC id FROM users;\n", line=1, message='SQL syntax error: syntax error at or near "SELEC"'),
        Example("def f(:\n    pass\n", path="example.py", line=1, message="Python syntax error: invalid syntax"),
    ]
