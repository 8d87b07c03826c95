"""`python -m dreamrooms` runs the CLI."""
import sys

from dreamrooms.commands.main import main

sys.exit(main())
