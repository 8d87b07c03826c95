"""`python -m dreamrooms` runs the CLI."""
import sys

try:   # Ctrl-C while the modules load (before the CLI's own handler runs) is still one line, exit 130
    from dreamrooms.commands.main import main

    code = main()
except KeyboardInterrupt:
    print("dreamrooms: interrupted", file=sys.stderr)
    code = 130
sys.exit(code)
