"""The gateway: the only public edge (REST, WebSocket, the web app)."""
