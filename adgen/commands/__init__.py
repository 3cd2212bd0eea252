"""CLI command groups that live outside cli.py; cli.py registers each with one line."""
