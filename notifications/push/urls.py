"""Browsers subscribing to push notifications (static/js/push.js calls these)."""

from django.urls import path

from . import views

urlpatterns = [
    path("key/", views.public_key, name="push-key"),
    path("subscribe/", views.subscribe, name="push-subscribe"),
    path("unsubscribe/", views.unsubscribe, name="push-unsubscribe"),
]
