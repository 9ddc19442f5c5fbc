"""`python -m hedgehog` runs the command line."""

from hedgehog.cli import main

main()
