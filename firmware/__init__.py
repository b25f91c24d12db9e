"""Statim firmware: ``core`` (MicroPython-compatible logic), ``core_c`` (C math), ``boards``."""
