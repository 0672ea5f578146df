"""Plan mode: a language model fills a typed plan over the semantic model instead of writing SQL."""
