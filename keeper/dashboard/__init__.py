"""The dashboard: web pages and a JSON API over the store, the ledger and the live strategy
(docs/DASHBOARD.md). ``keeper run`` serves it beside the daemon; ``keeper dashboard serve`` on
its own; ``keeper report`` writes monthly summaries. Heavy imports (FastAPI, uvicorn,
matplotlib) happen only when it is served or a report is written."""
