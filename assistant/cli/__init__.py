"""The `assistant` command line: thin click commands over the headless pipeline."""
