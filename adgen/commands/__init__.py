"""Command groups registered on the CLI app in adgen.cli, one module per group."""
