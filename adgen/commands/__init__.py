"""CLI commands that live outside cli.py; cli.py registers them."""
