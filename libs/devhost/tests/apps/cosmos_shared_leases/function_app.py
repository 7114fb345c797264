"""Fixture app: two Cosmos DB triggers on one container with the same lease container and no
prefix (on Azure each change would reach only one of them), and a third with its own prefix."""

import azure.functions as func

app = func.FunctionApp()


@app.cosmos_db_trigger(
    arg_name="docs", connection="CosmosConnection", database_name="shop", container_name="%SHARED_CONTAINER%"
)
def publish_changes(docs: func.DocumentList) -> None:
    return None


@app.cosmos_db_trigger(
    arg_name="docs", connection="CosmosConnection", database_name="shop", container_name="sales"
)
def start_workflows(docs: func.DocumentList) -> None:
    return None


@app.cosmos_db_trigger(
    arg_name="docs",
    connection="CosmosConnection",
    database_name="shop",
    container_name="sales",
    lease_container_prefix="audit-",
)
def audit_changes(docs: func.DocumentList) -> None:
    return None


@app.cosmos_db_trigger(
    arg_name="docs",
    connection="CosmosConnection",
    database_name="shop",
    container_name="sales",
    lease_container_prefix="audit-",
)
def replay_audit(docs: func.DocumentList) -> None:
    """Shares audit_changes' leases, but is disabled (AzureWebJobs.replay_audit.Disabled): no clash."""
    return None
