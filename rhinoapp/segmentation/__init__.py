"""Nasal airway segmentation: pure functions from a HU volume to an airway label map."""
