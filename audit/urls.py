from django.urls import path

from . import views

urlpatterns = [
    path("", views.audit_home, name="audit-home"),
    path("<slug:school>/", views.audit_trail, name="audit-trail"),
    path("<slug:school>/export.csv", views.audit_export, name="audit-export"),
]
