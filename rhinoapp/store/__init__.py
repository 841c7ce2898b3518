"""The store: SQLAlchemy database of projects and jobs plus atomically written artifact files."""

from rhinoapp.store.database import Store, open_store
from rhinoapp.store.repository import ArtifactInfo, ProjectRepository, output_digest

__all__ = [
    "ArtifactInfo",
    "ProjectRepository",
    "Store",
    "open_store",
    "output_digest",
]
