"""statim subcommands: every module here with register(subparsers) is loaded by the CLI."""
