"""Payment gateway adapters behind one interface."""
