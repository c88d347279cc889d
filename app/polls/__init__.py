"""Polls (民意调查): community surveys, one answer per resident, anonymous when asked."""
