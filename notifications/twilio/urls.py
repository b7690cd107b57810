"""Twilio's callbacks: TwiML for calls, key presses, delivery reports (all signed)."""

from django.urls import path

from . import views

urlpatterns = [
    path("call/<str:token>/", views.call, name="twilio-call"),
    path("call/<str:token>/key/", views.key_press, name="twilio-key-press"),
    path("status/<str:token>/", views.status, name="twilio-status"),
]
