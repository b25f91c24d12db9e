"""C math core (portable C99) and its cffi binding ``_core``, built at install."""
