from __future__ import annotations

from querylint.rule import Example, UnusedSuppressionRule


class UnusedSuppression(UnusedSuppressionRule):
    """A suppression comment that suppresses nothing.

    ## Why is this bad?
    A `# querylint: ignore[...]` or `-- noqa: QL101` comment that matches no finding on its
    line is noise: the problem was fixed or moved, and the stale comment will hide the next
    real finding there. A rule name or code that does not exist (a typo) is reported too: it
    suppresses nothing.

    Suppressions for rules that are not enabled are not reported (as in ruff), and `# noqa`
    codes of other tools (`# noqa: E501`) are left alone.

    ## Example
    ```sql
    SELECT id FROM users;  -- noqa: QL101
    ```

    ## Use instead
    ```sql
    SELECT id FROM users;
    ```

    ## Suppression syntax
    - `# querylint: ignore[select-star, QL102] optional reason` (Python) or
      `-- querylint: ignore[...]` (SQL): rule names or codes;
    - `# noqa: QL101, QL102` / `-- noqa: QL101`: only querylint codes count, so
      `# noqa: E501, QL101` works with other linters and a bare `# noqa` is left to them;
    - `querylint: ignore-file` (or `ignore-file[QL101]`) in any comment: the whole file.

    A suppression covers findings that start on its line; in `.sql` files a comment on the
    last line of a multi-line statement covers the whole statement, and in Python a comment
    after a multi-line string covers the SQL inside it.

    ## References
    - [squawk: ignoring rules](https://squawkhq.com/docs/)
    """

    code = "QL002"
    name = "unused-suppression"

    VALID = [
        Example("SELEC id FROM users;  -- noqa: QL001\n", config={"extend_select": ("QL001",)}),
        # a suppression for a rule that is not enabled is not "unused"
        Example("SELECT id FROM users;  -- querylint: ignore[parse-error]\n"),
        # other tools' noqa codes are theirs
        Example("import os  # noqa: F401\n", path="example.py"),
    ]
    INVALID = [
        Example(
            "SELECT id FROM users;  -- noqa: QL001\n",
            line=1,
            message="unused suppression `-- noqa: QL001`: no QL001 finding on this line",
            config={"extend_select": ("QL001",)},
        ),
        Example(
            "SELECT id FROM users;  -- querylint: ignore[slect-star]\n",
            line=1,
            message="suppression `-- querylint: ignore[slect-star]` names unknown rule `slect-star`",
        ),
    ]
