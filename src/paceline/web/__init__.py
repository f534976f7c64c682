"""The operator's window on TCP: the HTTP API with tokens and roles (`server`, `tokens`), the
dashboard (`static/`, shipped in the package, no build step) and Prometheus metrics (`metrics`).
`listen.serve_api` starts the daemon's listeners: the Unix socket and this one."""
