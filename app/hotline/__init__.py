"""Hotline (热线工单): cases filed for a caller by a dispatcher or pushed by the 12345 platform,
the caller's details (staff only), 回访, and status changes sent back to 12345."""
