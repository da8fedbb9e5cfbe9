from django.contrib.auth import views as auth_views
from django.urls import path, re_path

from sessions_app.views import (
    accounts,
    booking,
    calendar,
    calls,
    clients,
    clinical,
    dashboard,
    lots,
    privacy,
    records,
    reports,
    schedule,
    side_effects,
    staff,
)

urlpatterns = [
    path("login/", accounts.SignInView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("account/two-factor/", accounts.two_factor_setup, name="two_factor_setup"),
    path("account/two-factor/verify/", accounts.two_factor_verify, name="two_factor_verify"),
    path("", dashboard.dashboard, name="dashboard"),
    path("schedule/", schedule.schedule, name="schedule"),
    path("book/", booking.book_series, name="book_series"),
    path("book/clients/", booking.client_lookup, name="client_lookup"),
    path("plans/<int:pk>/", booking.plan_detail, name="plan_detail"),
    path("plans/<int:pk>/rebook/", booking.plan_rebook, name="plan_rebook"),
    path("plans/<int:pk>/maintenance/", booking.plan_maintenance, name="plan_maintenance"),
    path("sessions/<int:pk>/move/", booking.session_move, name="session_move"),
    # Only the actions a session knows; anything else is a 404.
    re_path(
        r"^sessions/(?P<pk>[0-9]+)/(?P<action>confirm|arrive|no_show|cancel)/$",
        booking.session_action,
        name="session_action",
    ),
    path("sessions/<int:pk>/record/", records.session_record, name="session_record"),
    path("sessions/<int:pk>/amend/", records.session_amend, name="session_amend"),
    path("photos/<int:pk>/", records.session_photo, name="session_photo"),
    path("clients/", clients.client_search, name="client_search"),
    path("clients/<int:pk>/", clients.client_detail, name="client_detail"),
    path("clients/<int:pk>/export/", privacy.client_export, name="client_export"),
    path("clients/<int:pk>/export.json", privacy.client_export_json, name="client_export_json"),
    path("clients/<int:pk>/erase/", privacy.client_erase_view, name="client_erase"),
    path("clients/<int:client_pk>/screening/new/", clinical.screening_new, name="screening_new"),
    path("plans/<int:plan_pk>/consent/", clinical.consent_new, name="consent_new"),
    path("lots/", lots.lot_search, name="lot_search"),
    path("lots/<int:pk>/", lots.lot_trace, name="lot_trace"),
    path("side-effects/", side_effects.side_effect_list, name="side_effect_list"),
    path("side-effects/<int:pk>/review/", side_effects.side_effect_mark_reviewed, name="side_effect_review"),
    path("clients/<int:client_pk>/side-effects/new/", side_effects.side_effect_new, name="side_effect_new"),
    path("calls/", calls.call_list_page, name="call_list"),
    re_path(
        r"^calls/(?P<pk>[0-9]+)/(?P<outcome>reached|no_answer|booked|declined|side_effect)/$",
        calls.call_outcome,
        name="call_outcome",
    ),
    # The link in every reminder: no sign-in, the signed token is the credential.
    path("u/<str:token>/", calls.unsubscribe, name="unsubscribe"),
    path("calendar/", calendar.calendar_settings, name="calendar_settings"),
    path("reports/", reports.reports_page, name="reports"),
    re_path(
        r"^reports/(?P<section>no-shows|series|maintenance|reminders|utilisation|activity|side-effects|all)/$",
        reports.reports_page,
        name="reports_section",
    ),
    path("staff/", staff.staff_list, name="staff_list"),
    path("staff/new/", staff.staff_add, name="staff_add"),
    path("staff/<int:pk>/", staff.staff_detail, name="staff_detail"),
    re_path(
        r"^staff/(?P<pk>[0-9]+)/(?P<action>deactivate|reactivate|unlock|remove_authenticator|send_link)/$",
        staff.staff_action,
        name="staff_action",
    ),
    # The one-time link mailed to a member: no sign-in, the token is the key.
    path("account/password/<uidb64>/<token>/", staff.PasswordSetView.as_view(), name="password_set"),
    re_path(r"^reports/(?P<slug>[a-z-]{1,40})\.csv$", reports.report_csv, name="report_csv"),
    # The secret is secrets.token_urlsafe(32); anything else is not a feed (404).
    re_path(r"^calendar/(?P<token>[A-Za-z0-9_-]{16,64})\.ics$", calendar.practitioner_feed, name="practitioner_feed"),
]
