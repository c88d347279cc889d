"""Areas: the district › street › community › grid tree, GeoJSON import, locate."""
