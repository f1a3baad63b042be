"""cardsight: name a Magic: The Gathering card from a photo."""

__version__ = "0.1.0"
