"""``python -m querylint``."""

from querylint.cli import entry

entry()
