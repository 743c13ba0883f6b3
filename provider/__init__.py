"""The Tessera Processing provider, its settings and dependency check."""
