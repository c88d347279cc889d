"""Open311 GeoReport v2 at /open311/v2/: our 小类 as services, tickets as service requests."""
