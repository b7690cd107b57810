"""Browsers subscribing to push notifications."""

urlpatterns = []
