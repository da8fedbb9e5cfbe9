from django.contrib import admin
from django.contrib.auth.decorators import login_not_required
from django.urls import include, path
from django.views.generic import RedirectView

admin.site.site_header = "Mesoclinic administration"
admin.site.site_title = "Mesoclinic"
admin.site.index_title = "Clinic data"

urlpatterns = [
    # One way in for everyone, the admin included: the staff sign-in, with its
    # lockout and second factor.
    path(
        "admin/login/",
        login_not_required(RedirectView.as_view(pattern_name="login", query_string=True)),
        name="admin_login_redirect",
    ),
    path("admin/", admin.site.urls),
    path("", include("sessions_app.urls")),
]
