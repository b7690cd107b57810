"""Placeholder: filled in by the minutes work."""

urlpatterns = []
