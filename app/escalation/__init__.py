"""上报/升级 up the area tree and 主办/协办 (issue 15 item 3)."""
