"""The inventory function app: composes the blueprints; no logic here but the worker's GC policy."""

import gc

import azure.functions as func
from inventory import api, subscriptions

app = func.FunctionApp()
app.register_functions(subscriptions.bp)
app.register_functions(api.bp)

# A nightly run allocates millions of short-lived dicts (rows, events, documents) beside a large
# long-lived heap (modules, SKU snapshots). With CPython's default thresholds (700, 10, 10) the
# cyclic collector ran about every 700 allocations and re-walked that heap: 20% of a worker's CPU
# in the 1,000,000-row bench. Freeze what importing built (it is never garbage) and collect the
# young generation every 20,000 allocations; reference counting still frees everything acyclic at
# once, so memory stays bounded (bench/inventory_bench.py reports the peak).
gc.freeze()
gc.set_threshold(20_000, 50, 100)
