"""People: face embeddings (`embedding`, `scorer`), the background pass that computes them (`background`) and
the pure clustering of faces into people under the user's decisions (`clustering`)."""
