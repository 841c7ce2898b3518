"""Airway surface and cross-sections from a label map."""
