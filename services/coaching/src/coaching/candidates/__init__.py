"""People who need guidance, gathered from coaching's own data and from training."""
