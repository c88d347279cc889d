"""Notifications: the transactional outbox and what delivers it."""
