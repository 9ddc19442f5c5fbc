"""Domain values shared by every part of hedgehog: events, orders, filters, Decimal rules."""
