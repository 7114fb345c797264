"""Message brokers: the embedded Service Bus and Event Hubs namespaces.

devhost and the tests use them in place of Azure Service Bus and Azure Event Hubs.
"""
