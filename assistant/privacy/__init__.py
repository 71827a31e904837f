"""The privacy layer: one normalisation, identifier and name detection, the private vocabulary."""
