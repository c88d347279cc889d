"""Monthly evaluation (考核) of units, dispatchers and grid workers, from the ticket timeline."""
