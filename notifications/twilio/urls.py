"""Twilio's callbacks: TwiML for calls, key presses, delivery reports (all signed)."""

urlpatterns = []
