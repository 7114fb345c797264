"""The inventory service: supplier stock feeds, stock reservations and low-stock alerts."""
