"""`python -m cli` runs the `threshold` command."""

from cli.main import main

main()
