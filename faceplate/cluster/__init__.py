"""What instances on one database share: a listening connection, NOTIFY envelopes, a notifier."""
