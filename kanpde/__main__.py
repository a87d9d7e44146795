"""``python -m kanpde``: the command-line tool."""

from .cli import main

raise SystemExit(main())
