"""Placeholder: filled in by the actions work."""

urlpatterns = []
