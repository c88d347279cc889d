"""Integrations: outside systems (12345, camera and sensor platforms, a city feed) that talk to
us by HMAC-signed requests (docs/integrations.md)."""
