"""Business rules with no messenger types: users, subscribers, orders, tickets, campaigns."""
