"""Notifications: the notifier contract, delivery through a durable
outbox, and the retry policy."""
