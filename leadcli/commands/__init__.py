"""One module per command or command group: parse options, call the library, hand rows to output."""
