class CleanInputMiddleware:
    """Placeholder: filled in by the accounts work (issue 11)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)
