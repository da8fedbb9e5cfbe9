"""The Django admin site of the clinic: Django's own, except who is turned away.

Django's admin sends anyone it does not let in to its sign-in page. Here that
page is the staff sign-in (clinic/urls.py), which sends someone already signed
in back to the admin: a receptionist or practitioner opening /admin/ went round
/admin/ -> /admin/login/ -> /login/ -> /admin/ until the browser gave up. Signed-in
staff whom the admin does not let in (every role but manager: the admin's
`has_permission`, is_staff) now get the "Not allowed" page every other
forbidden page gives; anonymous visitors are still sent to sign in.
"""

from functools import update_wrapper

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig
from django.core.exceptions import PermissionDenied


class ClinicAdminSite(admin.AdminSite):
    site_header = "Mesoclinic administration"
    site_title = "Mesoclinic"
    index_title = "Clinic data"

    def admin_view(self, view, cacheable=False):
        checked = super().admin_view(view, cacheable)

        def inner(request, *args, **kwargs):
            if request.user.is_authenticated and not self.has_permission(request):
                raise PermissionDenied
            return checked(request, *args, **kwargs)

        # Keep what Django's wrapper carries (the view's name, csrf_exempt).
        return update_wrapper(inner, checked)


class ClinicAdminConfig(AdminConfig):
    """In INSTALLED_APPS in place of django.contrib.admin: `admin.site` is a ClinicAdminSite."""

    default_site = "clinic.admin_site.ClinicAdminSite"
