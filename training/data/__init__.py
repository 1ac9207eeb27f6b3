"""Training data: trajectories from the synthetic generator or recorded runs, their samples,
and their encoding into tokens."""
