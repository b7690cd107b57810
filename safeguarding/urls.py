from django.urls import path

from . import views

urlpatterns = [
    path("", views.concern_list, name="concern-list"),
    path("new/", views.concern_create, name="concern-create"),
    path("<int:pk>/", views.concern_detail, name="concern-detail"),
    path("<int:pk>/triage/", views.concern_triage, name="concern-triage"),
    path("<int:pk>/close/", views.concern_close, name="concern-close"),
]
