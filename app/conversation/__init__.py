"""Talking to the reporter (issue 15 item 5): public progress notes, asking for more
information, and the reply templates staff pick from."""
