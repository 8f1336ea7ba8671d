"""Compatibility with naja-atra 1.x: its public import paths and behaviours."""
