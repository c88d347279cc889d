"""Tickets (案件): the lifecycle rules, and later their storage and API."""
