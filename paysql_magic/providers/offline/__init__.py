"""The offline provider: question -> Intent (parser) -> SQL (builder), with no language model."""

from paysql_magic.providers.offline.provider import OfflineProvider

__all__ = ["OfflineProvider"]
