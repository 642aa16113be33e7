"""``python -m langmem``: the command line."""

from langmem.cli import main

main()
