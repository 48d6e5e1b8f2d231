"""``python -m querylint``."""

from querylint.cli import main

raise SystemExit(main())
