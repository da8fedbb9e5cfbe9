"""The clinic's URLs and the bench's floor page. The bench serves these while
it times (ROOT_URLCONF overridden); the clinic itself never routes to the
floor page."""

from django.urls import path

from clinic.urls import urlpatterns as clinic_urlpatterns
from devtools import views

urlpatterns = [
    path("bench/floor/", views.floor, name="bench_floor"),
    *clinic_urlpatterns,
]
