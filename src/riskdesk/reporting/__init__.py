"""Rendering of reports (HTML with interactive charts)."""
