"""querylint: a static SQL query linter and migration advisor for Python projects on PostgreSQL.

The engine package. It knows no rule by name: rules live in ``querylint.rules`` and are
routed by their base class (see ``querylint.rule``).
"""

__version__ = "0.1.0"
