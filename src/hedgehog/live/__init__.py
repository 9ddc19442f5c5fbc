"""Live trading: the node that assembles streamer, exchange, naive system and observer."""
