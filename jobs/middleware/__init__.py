"""Bulkdesk's dramatiq middleware: chunk leases with heartbeats, and the reaper."""

from jobs.middleware.leases import ChunkLeases
from jobs.middleware.reaper import Reaper

__all__ = ["ChunkLeases", "Reaper"]
