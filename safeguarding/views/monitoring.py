"""Placeholder: filled in by the monitoring work."""

urlpatterns = []
