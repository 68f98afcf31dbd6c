"""`python -m talkroom`."""

import sys

from talkroom.cli import main

sys.exit(main())
