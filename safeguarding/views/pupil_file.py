"""Placeholder: filled in by the pupil_file work."""

urlpatterns = []
