"""Gateway calls on an existing payment (confirm, capture, cancel): reserve, call, settle."""
