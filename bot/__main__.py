"""`python -m bot` is the same as the `mila` command."""

from bot.cli import main

raise SystemExit(main())
