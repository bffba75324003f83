"""The turn engine: registry, runner, channel, fan-out, frames and close codes, writer, history,
and one step's tool calls. It knows no socket, no HTTP and no app state: a socket reaches a turn
only by subscribing an Outbox to its conversation."""
