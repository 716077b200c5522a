from albumsorter.cli import main

raise SystemExit(main())
