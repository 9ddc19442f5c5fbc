"""Market data: trade tables in exact integer units, their loaders (Binance zips, CSV, book
formats), the seeded synthetic market, Binance's public data downloads, and the one merge of
several symbols' trades into a single time order."""
