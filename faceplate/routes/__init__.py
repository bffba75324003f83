"""The routes: thin HTTP handlers (parse, call one service, encode), the conversation WebSocket,
and the table that declares each route once (table.py)."""
