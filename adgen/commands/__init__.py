"""CLI commands that live in their own modules; adgen.cli registers each with one line."""
