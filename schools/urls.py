from django.urls import path

from . import views, views_calendar
from .views_calendar import EntryFormView


def _entry_urls(prefix, kind):
    """Add, change and delete one kind of entry of a school's rota or calendar."""
    return [
        path(f"{prefix}/add/", EntryFormView.as_view(kind=kind), name=f"{kind}-add"),
        path(f"{prefix}/<int:pk>/", EntryFormView.as_view(kind=kind), name=f"{kind}-edit"),
        path(
            f"{prefix}/<int:pk>/delete/",
            views_calendar.entry_delete,
            {"kind": kind},
            name=f"{kind}-delete",
        ),
    ]


urlpatterns = [
    path("", views.pupil_list, name="pupil-list"),
    path("<int:pk>/", views.pupil_detail, name="pupil-detail"),
    # A8: roles that read safeguarding records wait for a second person's approval.
    path("roles/", views.role_requests, name="role-requests"),
    path("roles/<int:pk>/approve/", views.role_request_approve, name="role-request-approve"),
    path("roles/<int:pk>/refuse/", views.role_request_refuse, name="role-request-refuse"),
    path("roles/held/<int:pk>/remove/", views.role_remove, name="role-remove"),
    # The on-call rota (E1) and the school calendar (A7, E1): headteacher and office only.
    path("on-call/", views_calendar.rota_home, name="rota-home"),
    path("on-call/<slug:school>/", views_calendar.RotaView.as_view(), name="rota"),
    *_entry_urls("on-call/<slug:school>/shifts", "shift"),
    path("calendar/", views_calendar.calendar_home, name="calendar-home"),
    path("calendar/<slug:school>/", views_calendar.CalendarView.as_view(), name="school-calendar"),
    *_entry_urls("calendar/<slug:school>/terms", "term"),
    *_entry_urls("calendar/<slug:school>/closures", "closure"),
]
