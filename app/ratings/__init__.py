"""Ratings (一键可评): residents rate closed tickets, staff reply or send them back."""
