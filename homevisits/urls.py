from django.contrib import admin
from django.shortcuts import redirect
from django.templatetags.static import static
from django.urls import include, path

from escalation import views as escalation_views
from notifications import views as notification_views
from notifications.push import views as push_views
from schools import views as school_views
from visits import views as visit_views

admin.site.site_header = "homevisits administration"
admin.site.site_title = "homevisits admin"

urlpatterns = [
    path("", visit_views.home, name="home"),
    path("accounts/profile/", school_views.my_profile, name="my-profile"),
    # Sign-in, sign-out, password reset and change, second factors (django-allauth).
    path("accounts/", include("accounts.urls")),
    # The audit trail for the DSL and the headteacher.
    path("audit/", include("audit.urls")),
    path("visits/", include("visits.urls")),
    path("pupils/", include("schools.urls")),
    path("board/", include("escalation.urls")),
    # Concerns, minutes, debriefs, exports, the pupil's file and monitoring (A1-A9).
    path("", include("safeguarding.urls")),
    path("healthz", escalation_views.healthz, name="healthz"),
    # "I'm dealing with it": the link in a text or an email about an alert.
    path("a/<str:token>/", notification_views.answer, name="message-answer"),
    # The demo only (make run): what each phone and mailbox was sent by its fake gateways.
    path("demo/phones/", notification_views.demo_phones, name="demo-phones"),
    # Providers' callbacks (signed) and the browsers' push subscriptions.
    path("notifications/twilio/", include("notifications.twilio.urls")),
    path("notifications/notify/", include("notifications.notify.urls")),
    path("notifications/push/", include("notifications.push.urls")),
    # The push service worker, at the root so that its scope is the whole site.
    path("sw.js", push_views.service_worker, name="service-worker"),
    # Browsers ask for /favicon.ico whatever a page links: send them to the bundled icon.
    path("favicon.ico", lambda request: redirect(static("img/favicon.ico")), name="favicon"),
    path("admin/", admin.site.urls),
]
