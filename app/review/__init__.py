"""内容审核: staff release or keep what the content check held, and the record of each decision."""
