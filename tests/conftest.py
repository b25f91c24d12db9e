import os
import sys

# Make ``tests/`` helpers importable as plain modules (e.g. ``import micropython_vm``).
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

SHARED_DATA = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "..", "shared", "data")
