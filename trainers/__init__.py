"""LayerLoom trainers."""
