"""Berth: one Docker sandbox per workspace folder for coding agents."""

__version__ = "0.1.0"
