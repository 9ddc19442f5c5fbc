"""A cluster of nodes (issue 15): symbol leases and their coordinator (`lease_*`,
`coordinator`), pub/sub between nodes over NATS (`nats_*`). Import the modules themselves."""
