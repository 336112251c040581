"""Placeholder, replaced by the identity work: staff second factor and device-session tracking."""


class StaffSecondFactorMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)


SessionTrackingMiddleware = StaffSecondFactorMiddleware
