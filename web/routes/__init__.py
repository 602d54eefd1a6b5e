"""Route modules: accounts (login, language), pages (catalogue, reports), chat, trainer."""
