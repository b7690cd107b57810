from django.urls import include, path

from . import views

urlpatterns = [
    # Helping colleagues sign in: unlock a locked account, reset a lost second factor.
    path("staff/", views.staff_sign_in, name="accounts-staff"),
    path("staff/unlock/", views.unlock, name="accounts-unlock"),
    path(
        "staff/<int:pk>/second-factors/reset/", views.factors_reset, name="accounts-factors-reset"
    ),
    # Sign-in, sign-out, passwords and second factors (django-allauth).
    path("", include("allauth.urls")),
]
