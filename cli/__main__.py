import sys

from cli.main import main
from cli.pipes import guard_streams
from redaction import install

install(streams=True)  # an entry point of its own, like `kwa`: no credential reaches the terminal
guard_streams()  # `python -m cli … | head`: a reader that goes away ends the output quietly
sys.exit(main())
