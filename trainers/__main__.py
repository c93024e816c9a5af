"""`python -m trainers train|datasets ...` (see trainers.cli)."""
import sys

from trainers.cli import main

sys.exit(main())
