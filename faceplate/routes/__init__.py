"""Thin HTTP and WebSocket routes: parse, call one service, encode."""
