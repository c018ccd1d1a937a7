"""The strategy against a chain: portfolio and prices read from it, the price history, the live
evaluation and proposal, the watch loop, yield sources, alerts, and their commands."""
