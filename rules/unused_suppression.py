from __future__ import annotations

from querylint.rule import Example, UnusedSuppressionRule


class UnusedSuppression(UnusedSuppressionRule):
    """A suppression comment that suppresses nothing.

    ## Why is this bad?
    A `# querylint: ignore[...]` or `-- noqa: QL101` comment that matches no finding on its
    line is noise: the problem was fixed or moved, and the stale comment will hide the next
    real finding there.

    ## Example
    ```sql
    SELECT id FROM users;  -- noqa: QL101
    ```

    ## Use instead
    ```sql
    SELECT id FROM users;
    ```

    ## References
    - [squawk: ignoring rules](https://squawkhq.com/docs/)
    """

    code = "QL002"
    name = "unused-suppression"

    VALID = [Example("SELECT id FROM users;\n")]
    INVALID = [
        Example(
            "SELECT id FROM users;  -- noqa: QL101\n",
            line=1,
            message="unused suppression `-- noqa: QL101`: no QL101 finding on this line",
        )
    ]
