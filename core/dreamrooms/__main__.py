"""`python -m dreamrooms` runs the CLI."""
import sys

from dreamrooms.cli import main

sys.exit(main())
