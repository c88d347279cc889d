"""Stats: the published rates (处置率, 结案率, 满意率 ...) and their counts."""
