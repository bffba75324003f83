"""Agent turns: run as their own tasks, owned by the conversation, fanned out to sockets."""
