"""Renderers: the overlay drawn on frames, and the JSON, CSV and HTML reports."""
