from django.contrib import admin
from django.urls import include, path

admin.site.site_header = "Mesoclinic administration"
admin.site.site_title = "Mesoclinic"
admin.site.index_title = "Clinic data"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("sessions_app.urls")),
]
