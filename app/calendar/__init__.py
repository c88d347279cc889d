"""The working calendar (工作日历): admins' holiday and adjusted-workday overrides."""
