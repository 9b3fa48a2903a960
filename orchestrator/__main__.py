"""`python -m orchestrator`: the `orchestrator` command, for processes started without the script."""

from orchestrator.entrypoints.cli import main

main()
