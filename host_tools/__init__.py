"""Host tools: the statim CLI and what it runs against a unit."""
