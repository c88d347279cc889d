"""Routing: rules that send a ticket to a unit by category and area."""
