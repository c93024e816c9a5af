"""LayerLoom viz."""
