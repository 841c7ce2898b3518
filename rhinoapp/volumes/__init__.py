"""NIfTI and NRRD volumes: readers, writers and orientation handling (LPS inside, RAS in NIfTI files)."""
