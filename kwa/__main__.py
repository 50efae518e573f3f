import sys

from kwa.app import main

sys.exit(main())
