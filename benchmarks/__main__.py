"""``python -m benchmarks``: run every benchmark once and print the table."""

from benchmarks.run import main

raise SystemExit(main())
