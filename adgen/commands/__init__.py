"""CLI command groups, each registered explicitly in adgen/cli.py."""
