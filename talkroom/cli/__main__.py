"""`python -m talkroom.cli`."""

import sys

from talkroom.cli.boundary import main

sys.exit(main())
