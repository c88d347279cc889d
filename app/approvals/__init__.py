"""挂账/延期/回退/作废 requests a supervisor decides, and their register (issue 15 item 4)."""
