"""A synthetic nasal CT phantom with ground-truth airway labels, for the demo project and the tests."""
