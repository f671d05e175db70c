"""One module per resource; each exposes `router` and is included by `host.web.app`."""
