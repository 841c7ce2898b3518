"""``python -m rhinoapp`` runs the command-line interface."""

from rhinoapp.cli import main

raise SystemExit(main())
