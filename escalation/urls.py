from django.urls import path

from . import views

urlpatterns = [
    path("", views.board, name="board"),
    path("rows/", views.board_rows, name="board-rows"),
    path("alerts/<int:pk>/", views.escalation_detail, name="escalation-detail"),
    path("alerts/<int:pk>/police/", views.police_instructions, name="escalation-police"),
    path("alerts/<int:pk>/acknowledge/", views.escalation_acknowledge, name="escalation-ack"),
    path("alerts/<int:pk>/call/", views.escalation_call, name="escalation-call"),
    path(
        "alerts/<int:pk>/police-called/",
        views.escalation_police_called,
        name="escalation-police-called",
    ),
    path(
        "alerts/<int:pk>/police-step/", views.escalation_police_step, name="escalation-police-step"
    ),
    path("alerts/<int:pk>/resolve/", views.escalation_resolve, name="escalation-resolve"),
    path("drills/", views.drill_start, name="drill-start"),
]
