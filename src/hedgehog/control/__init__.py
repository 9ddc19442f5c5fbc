"""The node's local control API (aiohttp, 127.0.0.1, token) and the CLI commands that use it."""
