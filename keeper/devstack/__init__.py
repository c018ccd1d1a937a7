"""The local development stack: the seeded market, executor and relay on one machine, their
processes, and ``make demo``."""
