"""Tools over the services: the console script, the local stack, the simulated province."""
