from __future__ import annotations

from querylint.diagnostics import Severity
from querylint.rule import InternalErrorRule


class InternalError(InternalErrorRule):
    """A rule or front end failed on this file; every other rule and file was still checked.

    ## Why is this bad?
    It is a bug in querylint, not in your code: part of the file went unchecked, so findings
    may be missing. The run goes on, and `--verbose` prints the traceback for a bug report.

    ## Example
    Any input that makes one rule raise an exception.

    ## Use instead
    Report the traceback (`querylint check --verbose PATH`). Until it is fixed, a
    `# querylint: ignore[internal-error]` comment or `per-file-ignores` hides it.

    ## References
    - [Reporting bugs](https://github.com/querylint/querylint/issues)
    """

    code = "QL000"
    name = "internal-error"
    severity = Severity.ERROR
