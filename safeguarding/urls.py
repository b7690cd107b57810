"""Every area's URLs, each listed beside its views (safeguarding/views/<area>.py)."""

from .views import actions, concerns, exports, minutes, monitoring, pupil_file, records

urlpatterns = [
    *concerns.urlpatterns,
    *minutes.urlpatterns,
    *exports.urlpatterns,
    *pupil_file.urlpatterns,
    *monitoring.urlpatterns,
    *actions.urlpatterns,
    *records.urlpatterns,
]
