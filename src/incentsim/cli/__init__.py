"""Command-line interface (click). Thin: each command parses options and calls the library."""
