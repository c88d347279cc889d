"""督办 (supervision): supervisors press the holders of open tickets; a ledger per unit."""
