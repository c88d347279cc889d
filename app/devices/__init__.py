"""Cameras and sensors (自动识别): the device registry, event types mapped to categories, signed
events that open or join a case (or wait for review), and silent devices reported to admins."""
