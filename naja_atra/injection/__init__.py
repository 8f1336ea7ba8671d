"""Argument injection: the markers controllers use and how each argument is resolved."""
