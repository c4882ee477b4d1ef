"""Placeholder; see DESIGN.md."""
