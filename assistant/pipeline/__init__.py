"""The headless core: everything the CLI and the TUI do, without any UI imports."""
