"""One module per AWS service: what its kinds compute (request parameters from the desired
state, the comparable state from a description, call sequences, status mappings), kept apart
from the kind modules, which only declare (schema, identity, drift fields, references,
capabilities). A service module imports the engine and the provider's errors, never a kind
module, kopf or telemetry."""
