"""Who opened which visit, police sheet, schedule, pupil and file, and what they downloaded (A8).

The registry of pages and how to find what each showed is audit/access_log.py.
"""

from .access_log import entries_for
from .services import record_seen


class AccessLogMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        found = entries_for(request, response)
        if found is not None:
            action, seen = found
            # Not caught: a page whose opening could not be recorded is not shown (A8).
            record_seen(action, request=request, seen=seen)
        return response
