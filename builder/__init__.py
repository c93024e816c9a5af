"""LayerLoom builder."""
