"""python -m bench NAME [ARGS]: run bench/NAME.py's main(ARGS)."""

import importlib
import sys

if len(sys.argv) < 2 or sys.argv[1] in ("-h", "--help"):
    sys.exit("usage: python -m bench NAME [ARGS]   (e.g. python -m bench batch --help)")
importlib.import_module(f"bench.{sys.argv[1]}").main(sys.argv[2:])
