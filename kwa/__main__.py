import sys

from kwa.cli import main

sys.exit(main())
