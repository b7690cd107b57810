from django.shortcuts import render


def ratelimited(request, exception):
    """django-ratelimit's refusal: a page that says why and when to try again, not a bare 403."""
    return render(request, "429.html", status=429)
