"""Voice: TTS backends behind one `Voice` protocol, chosen per language by settings."""
