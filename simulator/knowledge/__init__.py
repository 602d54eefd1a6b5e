"""Knowledge base: Markdown documents → chunks → embeddings + BM25 → hybrid search."""
