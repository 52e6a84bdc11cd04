"""The conversation core: messenger-independent events, replies, sessions and the engine."""
