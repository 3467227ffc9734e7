"""Live events over WebSocket (`GET /v1/events`): one JetStream tail per stream and process, fanned
out to the connections that may see each event, with resumable cursors."""
