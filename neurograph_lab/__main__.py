"""``python -m neurograph_lab serve lab.ngs``: the ``neurograph-lab`` command line."""

from .cli import main

raise SystemExit(main())
