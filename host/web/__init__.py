"""The HTTP side of livehost: REST API, websocket endpoints and (later) the console."""
