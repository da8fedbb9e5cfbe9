"""The session record, opened from the schedule: written on a tablet (areas
chosen on the face and body chart, a card per area, kept as a draft on the
server as it goes), signed once, read-only afterwards, corrected by amendments
with a reason; and its photos, streamed only to staff allowed to see them."""

from __future__ import annotations

from pathlib import PurePath

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.db.models import Prefetch, prefetch_related_objects
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from sessions_app.clearance import Clearance
from sessions_app.models import (
    AccessAction,
    CeilingDecision,
    Injection,
    InjectionQuantity,
    PlanStatus,
    Product,
    ProductLot,
    RecordDraft,
    SessionAmendment,
    SessionPhoto,
    TreatmentArea,
    TreatmentSession,
    User,
)
from sessions_app.models.expressions import attach_related
from sessions_app.record_forms import AreaForm, RecordForms, SessionRecordForm, initial_from, values_of
from sessions_app.services.alerts import client_alerts
from sessions_app.services.audit import access_record
from sessions_app.services.clearance import clearance, screening_facts
from sessions_app.services.ledger import session_ledger
from sessions_app.services.records import (
    INJECTION_FIELDS,
    CeilingsPassed,
    LotChoices,
    LotContext,
    RecordRefused,
    area_defaults,
    lot_choices,
    protocol_of,
    record_draft_save,
    session_record_amend,
    session_record_sign,
)
from sessions_app.services.session_status import InvalidTransition
from sessions_app.views.booking import _safe_next
from sessions_app.views.params import parse_int

# A product's lots in one area: more lines than this come from a crafted post.
MAX_LOT_LINES = 6
# Posted fields that are not part of the record (kept out of a draft).
NOT_RECORD = {"csrfmiddlewaretoken", "next", "action", "before_photos", "after_photos"}


def _session(pk: int) -> TreatmentSession:
    """The session with what its record shows; the practitioner and who signed
    it read beside it (attach_related): joined too, the user table twice made
    this one-row query slower to plan than to run."""
    lots = Prefetch("lots", ProductLot.objects.select_related("product").order_by("product__name", "lot_number"))
    session = get_object_or_404(
        TreatmentSession.objects.with_series_position()
        .select_related("plan__client", "plan__indication", "plan__mixture", "room", "record_draft")
        .prefetch_related(
            "plan__areas",
            Prefetch(
                "injections",
                # The quantities with their products joined: one query whether
                # or not any was written down (the page's count stays the same).
                Injection.objects.select_related("area").prefetch_related(
                    lots, Prefetch("quantities", InjectionQuantity.objects.select_related("product"))
                ),
            ),
        ),
        pk=pk,
    )
    attach_related([session], User.objects.all(), "practitioner", "signed_by")
    return session


def _with_signed_parts(session: TreatmentSession) -> TreatmentSession:
    """What only a signed record shows: photos, amendments, ceiling decisions."""
    prefetch_related_objects(
        [session],
        # "before" sorts after "after": descending puts the before photos first.
        Prefetch("photos", SessionPhoto.objects.order_by("-kind", "uploaded_at", "pk")),
        Prefetch("amendments", SessionAmendment.objects.select_related("amended_by")),
        Prefetch("ceiling_decisions", CeilingDecision.objects.select_related("substance", "decided_by")),
    )
    return session


class RecordPage:
    """What the record form needs, read once: the lots and their choices, the
    areas, the mixture's products, and what each area's card starts from."""

    def __init__(self, session: TreatmentSession, *, amending: bool):
        self.session, self.amending = session, amending
        self.context = LotContext.of(session)
        self.choices: LotChoices = lot_choices(self.context)
        self.recorded = list(session.injections.all())
        areas = {a.pk: a for a in TreatmentArea.objects.filter(active=True)} | {
            i.area_id: i.area for i in self.recorded
        }
        self.areas = sorted(areas.values(), key=lambda a: a.name)
        self.by_id = {a.pk: a for a in self.areas}
        components = session.plan.mixture.components.select_related("product").order_by("id")
        products = [c.product for c in components]
        products += sorted(
            {lot.product for i in self.recorded for lot in i.lots.all()} - set(products), key=lambda p: p.name
        )
        self.products: list[Product] = products
        self.extra_lots: dict[int, list[ProductLot]] = {}
        for injection in self.recorded:
            for lot in injection.lots.all():
                self.extra_lots.setdefault(lot.product_id, [])
                if lot not in self.extra_lots[lot.product_id]:
                    self.extra_lots[lot.product_id].append(lot)
        self.protocol = protocol_of(session.plan)
        self.defaults = area_defaults(session, self.protocol)
        self.screening_id: int | None = None  # the screening a physician judges, when the rule waits for one

    def first_areas(self) -> list[int]:
        if self.amending:
            return [i.area_id for i in self.recorded]
        return [a.pk for a in self.session.plan.areas.all()]

    def card_initial(self, area_id: int) -> tuple[dict, dict[int, int]]:
        """An area card's first values and its lot lines per product: the
        signed record's when amending (every lot it names), else the
        protocol's and the plan's last session's, with the lots in use."""
        recorded = next((i for i in self.recorded if i.area_id == area_id), None)
        if self.amending and recorded is not None:
            initial = {name: getattr(recorded, name) for name in INJECTION_FIELDS}
            lines: dict[int, int] = {}
            for lot in recorded.lots.all():
                n = lines.get(lot.product_id, 0)
                initial[AreaForm.lot_field(lot.product, n)] = str(lot.pk)
                lines[lot.product_id] = n + 1
            for product in self.products:
                if product.pk not in lines:
                    initial[AreaForm.lot_field(product)] = "none"
            initial |= {f"qty_{q.product_id}": q.quantity_ml for q in recorded.quantities.all()}
            return initial, lines
        initial = dict(self.defaults[area_id])
        for product in self.products:
            if lot_id := self.choices.in_use.get(product.pk):
                initial[AreaForm.lot_field(product)] = str(lot_id)
        return initial, {}

    def area_form(self, area_id: int, *, data=None, initial=None, lines=None) -> AreaForm:
        return AreaForm(
            data,
            area=self.by_id[area_id],
            products=self.products,
            choices=self.choices,
            context=self.context,
            extra_lots=self.extra_lots,
            lines=lines,
            initial=initial,
        )

    def chosen_in(self, data) -> list[int]:
        chosen = []
        for value in data.getlist("areas"):
            pk = parse_int(value)
            if pk in self.by_id and pk not in chosen:
                chosen.append(pk)
        return sorted(chosen, key=lambda pk: self.by_id[pk].name)

    @staticmethod
    def lines_in(data, area_id: int) -> dict[int, int]:
        """A product's lot lines as posted: lot_<id>, lot_<id>_1, ..."""
        lines: dict[int, int] = {}
        prefix = f"a{area_id}-lot_"
        for key in data:
            if key.startswith(prefix):
                product, _, n = key.removeprefix(prefix).partition("_")
                product_id, line = parse_int(product), parse_int(n or "0")
                if product_id is not None and line is not None and line < MAX_LOT_LINES:
                    lines[product_id] = max(lines.get(product_id, 1), line + 1)
        return lines

    def forms(self, data=None, files=None, *, shown=None) -> RecordForms:
        """Bound to `data` (a submission), or unbound showing `shown` (a draft,
        or the fields as last posted) over each card's first values."""
        session_form = SessionRecordForm(data, files, instance=self.session, amending=self.amending)
        source = data if data is not None else shown
        chosen = (
            self.chosen_in(source)
            if source is not None
            else sorted((pk for pk in self.first_areas() if pk in self.by_id), key=lambda pk: self.by_id[pk].name)
        )
        area_forms = []
        for area_id in chosen:
            initial, lines = self.card_initial(area_id)
            if data is not None:
                area_forms.append(self.area_form(area_id, data=data, lines=self.lines_in(data, area_id) or lines))
                continue
            if shown is not None:
                lines = self.lines_in(shown, area_id) or lines
                initial |= initial_from(self.area_form(area_id, lines=lines), shown)
            area_forms.append(self.area_form(area_id, initial=initial, lines=lines))
        if data is None and shown is not None:
            session_form = SessionRecordForm(
                instance=self.session, amending=self.amending, initial=initial_from(session_form, shown)
            )
        return RecordForms(session_form, area_forms, self.areas, chosen)


def _draft_data(request) -> dict[str, list[str]]:
    return {name: request.POST.getlist(name) for name in request.POST if name not in NOT_RECORD}


def _checks(request, session: TreatmentSession, forms: RecordForms) -> dict:
    """The checks shown before signing, as the form stands: what does not fit
    in each area, and the dose ledger with the ceilings passed."""
    ledger = session_ledger(session, forms.items_so_far())
    return {
        "misfits": [(form.area, problems) for form in forms.area_forms if (problems := form.misfits())],
        "ledger": ledger,
        "warnings": ledger.warnings(),
    }


def _form_page(request, session: TreatmentSession, *, amending: bool):
    """The record form: shown (from the draft when there is one), signed or
    amended on "Complete and sign" / "Save the amendment"; its other buttons
    (for pages without JavaScript) go through _rearrange."""
    page = RecordPage(session, amending=amending)
    draft: RecordDraft | None = None if amending else getattr(session, "record_draft", None)
    if request.method == "POST":
        action = request.POST.get("action", "sign")
        if action != "sign":
            return _rearrange(request, session, page, action, amending=amending)
        forms = page.forms(request.POST, request.FILES)
        if forms.is_valid():
            try:
                _save(request, session, forms, amending=amending)
            except CeilingsPassed as exc:
                forms.session_form.add_error("ceiling_decision", "Say why you go ahead past the ceiling.")
                forms.errors += exc.messages[:-1]
            except RecordRefused as exc:
                forms.errors += exc.messages
            except InvalidTransition as exc:  # NotCleared too
                forms.errors.append(str(exc))
            else:
                return _saved(request, session, amending=amending)
        if not amending:  # what was typed stays, even if the tab is closed now
            draft = _keep_draft(request, session)
    else:
        forms = page.forms(shown=values_of(draft.data) if draft else None)
    return _render_form(request, page, forms, draft=draft)


def _render_form(request, page: RecordPage, forms: RecordForms, *, draft: RecordDraft | None):
    session = page.session
    client_id = session.plan.client_id
    # The latest screening and the allergies, read once for the verdict and the alerts.
    facts = screening_facts([client_id])
    verdict = None if page.amending else clearance(session, facts)
    if verdict and verdict.clearance == Clearance.NEEDS_JUDGEMENT:
        page.screening_id = facts.screenings[client_id][0]
    context = {
        "session": session,
        "forms": forms,
        "page": page,
        "amending": page.amending,
        "verdict": verdict,
        "draft": draft,
        "alerts": client_alerts([client_id], facts=facts)[client_id],
        "next": _safe_next(request, ""),
        **_checks(request, session, forms),
    }
    return render(request, "records/form.html", context)


def _keep_draft(request, session: TreatmentSession) -> RecordDraft | None:
    try:
        return record_draft_save(session_id=session.pk, data=_draft_data(request), by=request.user)
    except InvalidTransition:
        return None


def _rearrange(request, session: TreatmentSession, page: RecordPage, action: str, *, amending: bool):
    """Without JavaScript: "Save the draft", "Show the areas ticked" and an
    area's "Remove" post the whole form. Recording keeps it as the draft and
    shows it again; amending (no draft) shows it again at once."""
    data = request.POST.copy()
    if action.startswith("remove:"):
        data.setlist("areas", [a for a in data.getlist("areas") if a != action.removeprefix("remove:")])
    if not amending:
        try:
            record_draft_save(
                session_id=session.pk,
                data={name: data.getlist(name) for name in data if name not in NOT_RECORD},
                by=request.user,
            )
        except InvalidTransition as exc:
            messages.error(request, str(exc))
            return redirect("session_record", session.pk)
        if action == "draft":
            messages.success(request, "Draft saved: the record is kept as it is until you sign it.")
        url = reverse("session_record", args=[session.pk])
        if next_url := _safe_next(request, ""):
            url += "?next=" + next_url
        return redirect(url + "#areas")
    return _render_form(request, page, page.forms(shown=data), draft=None)


def _save(request, session: TreatmentSession, forms: RecordForms, *, amending: bool) -> None:
    record = forms.record_input()
    photos = forms.session_form.photos()
    if amending:
        reason = forms.session_form.cleaned_data["reason"]
        session_record_amend(session_id=session.pk, record=record, photos=photos, by=request.user, reason=reason)
    else:
        session_record_sign(session_id=session.pk, record=record, photos=photos, by=request.user)


def _saved(request, session: TreatmentSession, *, amending: bool):
    session = TreatmentSession.objects.select_related("plan__client", "plan").get(pk=session.pk)
    if amending:
        messages.success(request, "The record is amended; the previous values are kept in its history.")
    else:
        text = f"{session.plan.client.full_name}: session completed and the record signed."
        if session.plan.status == PlanStatus.MAINTENANCE:
            due = session.plan.maintenance_due_on(session.starts_at)
            text += f" The series is complete: maintenance is due on {due:%d/%m/%Y}, not booked yet."
        messages.success(request, text)
    url = reverse("session_record", args=[session.pk])
    if next_url := _safe_next(request, ""):
        url += "?next=" + next_url
    return redirect(url)


@permission_required("sessions_app.view_injection", raise_exception=True)
@require_http_methods(["GET", "POST"])
def session_record(request, pk: int):
    """A signed record, read-only; otherwise the form that records and signs it."""
    session = _session(pk)
    if request.method == "GET":
        access_record(request, AccessAction.VIEW_RECORD, client=session.plan.client_id, detail=f"session {session.pk}")
    if session.is_signed:
        if request.method == "POST":
            messages.error(request, "This record is signed: correct it with an amendment.")
            return redirect("session_record", pk)
        _with_signed_parts(session)
        context = {
            "session": session,
            "next": _safe_next(request, ""),
            "alerts": client_alerts([session.plan.client_id])[session.plan.client_id],
            "ledger": session_ledger(session),
            "areas": [i.area for i in session.injections.all()],
            "treated": [i.area_id for i in session.injections.all()],
        }
        return render(request, "records/signed.html", context)
    if not request.user.has_perm("sessions_app.add_injection"):
        raise Http404  # nothing to read yet, and not theirs to write
    if request.method == "GET" and (refusal := session.record_refusal):
        # Said before anyone types, not on submit (SessionStatus.record_refusal).
        page = {"session": session, "refusal": refusal, "next": _safe_next(request, "")}
        return render(request, "records/not_yet.html", page)
    return _form_page(request, session, amending=False)


@permission_required("sessions_app.change_injection", raise_exception=True)
@require_http_methods(["GET", "POST"])
def session_amend(request, pk: int):
    session = _session(pk)
    if not session.is_signed:
        messages.info(request, "This session is not signed yet: record it first.")
        return redirect("session_record", pk)
    if request.method == "GET":  # the form shows the whole signed record
        access_record(request, AccessAction.VIEW_RECORD, client=session.plan.client_id, detail=f"session {session.pk}")
    return _form_page(request, session, amending=True)


@permission_required("sessions_app.add_injection", raise_exception=True)
@require_GET
def session_record_area(request, pk: int, area_pk: int):
    """One area's card, as the record form adds it when the area is chosen on
    the chart (htmx): the protocol's and the last session's values, the lots
    in use."""
    session = _session(pk)
    page = RecordPage(session, amending=False)  # an area added while amending starts like a new one
    if area_pk not in page.by_id:
        raise Http404("No such treatment area.")
    initial, lines = page.card_initial(area_pk)
    form = page.area_form(area_pk, initial=initial, lines=lines)
    return render(request, "records/_area_card.html", {"af": form, "page": page, "session": session})


@permission_required("sessions_app.add_injection", raise_exception=True)
@require_POST
def session_record_draft(request, pk: int):
    """Keeps the record form as it stands (the page posts it as it is filled
    in) and answers with the checks before signing: what does not fit, the dose
    ledger, the ceilings passed."""
    session = _session(pk)
    try:
        draft = record_draft_save(session_id=session.pk, data=_draft_data(request), by=request.user)
    except InvalidTransition as exc:
        return HttpResponse(str(exc), status=409, content_type="text/plain; charset=utf-8")
    page = RecordPage(session, amending=False)
    forms = page.forms(request.POST)
    context = {
        "session": session,
        "forms": forms,
        "draft": draft,
        "now": timezone.now(),
        **_checks(request, session, forms),
    }
    return render(request, "records/_checks.html", context)


@never_cache
@permission_required("sessions_app.view_sessionphoto", raise_exception=True)
@require_GET
def session_photo(request, pk: int):
    """Streams a clinical photo to staff allowed to see it; no public URL exists."""
    photo = get_object_or_404(SessionPhoto.objects.select_related("session__plan"), pk=pk)
    access_record(request, AccessAction.VIEW_PHOTO, client=photo.session.plan.client_id, detail=f"photo {photo.pk}")
    try:
        handle = photo.image.open("rb")
    except FileNotFoundError:
        raise Http404("The photo's file is missing.") from None
    response = FileResponse(handle, content_type=photo.content_type)
    response["Content-Disposition"] = f'inline; filename="{photo.kind}-{photo.pk}{PurePath(photo.image.name).suffix}"'
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response
