"""Scryfall sync: card data and images into the gallery folder (`cardsight sync`)."""
