"""The orders function app: composes the blueprints; no logic here."""

import azure.durable_functions as df
import azure.functions as func
from orders import api, subscriptions, workflow

app = df.DFApp(http_auth_level=func.AuthLevel.FUNCTION)
app.register_functions(workflow.bp.functions)
app.register_functions(subscriptions.bp.functions)
app.register_functions(api.bp.functions)
