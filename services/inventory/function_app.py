"""The inventory function app: composes the blueprints; no logic here."""

import azure.functions as func
from inventory import api, subscriptions

app = func.FunctionApp()
app.register_functions(subscriptions.bp)
app.register_functions(api.bp)
