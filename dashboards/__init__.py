"""The infra-operator Grafana dashboard: generator, PromQL builders, query listing and PNG renderer."""
