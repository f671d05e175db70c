"""Stream: the program clock, the compositor and its layers, and the sinks."""
