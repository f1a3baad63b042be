"""HTTP service: the API, try-it page, metrics and hot-swappable engine behind `cardsight serve`."""
