import sys

from formcheck.app.cli import main

sys.exit(main())
