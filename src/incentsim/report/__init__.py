"""Rendering: terminal text, JSON, Markdown, HTML and figures."""
