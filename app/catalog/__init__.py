"""Catalog: the category tree (部件/事件) with time limits, editable by admins."""
