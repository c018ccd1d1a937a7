"""The keeper daemon: service wiring and ``keeper run``, the per-block pipeline and its stages
(follow in-flight, batch, simulate), the circuit breaker, metrics and the chain view."""
