"""DICOM: PS3.15 de-identification, series grouping and CT volume assembly (the only DICOM reader/writer)."""
