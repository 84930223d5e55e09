"""One module per API resource; ``server.app.routes`` lists every route in one table."""
