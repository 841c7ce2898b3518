"""The store: SQLAlchemy database of projects and jobs plus atomically written artifact files."""

from rhinoapp.store.artifacts import WrittenFile, atomic_write, file_sha256
from rhinoapp.store.database import Store, open_store
from rhinoapp.store.repository import ArtifactInfo, ProjectRepository, output_digest

__all__ = [
    "ArtifactInfo",
    "ProjectRepository",
    "Store",
    "WrittenFile",
    "atomic_write",
    "file_sha256",
    "open_store",
    "output_digest",
]
