import sys

from tubesensei.cli import main

sys.exit(main())
