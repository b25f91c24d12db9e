"""The host board: runs firmware/core on CPython with a virtual clock."""
