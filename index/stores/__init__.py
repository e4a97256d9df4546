"""Vector stores: the protocol (base), the implementations, the factory, the conformance suite."""
