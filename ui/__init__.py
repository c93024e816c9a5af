"""LayerLoom ui."""
