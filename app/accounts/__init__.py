"""Accounts: residents (WeChat), staff (password), area-scoped roles, tokens."""
