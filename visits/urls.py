from django.urls import path

from . import views

urlpatterns = [
    path("mine/", views.my_visits, name="my-visits"),
    path("new/", views.visit_create, name="visit-create"),
    path("queue/", views.queue, name="queue"),
    path("schedule/", views.schedule, name="schedule"),
    path("<int:pk>/", views.visit_detail, name="visit-detail"),
    path("<int:pk>/edit/", views.visit_edit, name="visit-edit"),
    path("<int:pk>/risk-assessment/", views.visit_risk, name="visit-risk"),
    path("<int:pk>/submit/", views.visit_submit, name="visit-submit"),
    path("<int:pk>/authorise/", views.visit_decide, name="visit-decide"),
    path("<int:pk>/cancel/", views.visit_cancel, name="visit-cancel"),
    path("<int:pk>/complete/", views.visit_complete, name="visit-complete"),
    path("<int:pk>/on-visit/", views.on_visit, name="visit-on"),
    path(
        "<int:pk>/check/<str:action>/",
        views.visit_check_in,
        name="visit-check-in",
    ),
    path("<int:pk>/extend/", views.visit_extend, name="visit-extend"),
    path("<int:pk>/door/", views.visit_door, name="visit-door"),
    path("<int:pk>/help/", views.visit_help, name="visit-help"),
    path("<int:pk>/code-word/", views.visit_code_word, name="visit-code-word"),
]
