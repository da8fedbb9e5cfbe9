// Pages may show what works without JavaScript only when it is off (.no-js-only).
document.documentElement.classList.add("js");
// Buttons with data-confirm ask before they submit (cancel a session, for example).
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-confirm]");
  if (button && !window.confirm(button.dataset.confirm)) {
    event.preventDefault();
  }
});
// htmx sends Django's CSRF token with every request that changes something.
document.addEventListener("htmx:configRequest", (event) => {
  const token = document.querySelector("[name=csrfmiddlewaretoken]");
  if (token) event.detail.headers["X-CSRFToken"] = token.value;
});
// A "Print" button (the side-effect report): the browser's own print dialog.
document.addEventListener("click", (event) => {
  if (event.target.closest("[data-print]")) window.print();
});

// The series preview: a slot chosen for a session (or a date and time typed)
// updates the preview at once, as its "Update the dates" button does.
document.addEventListener("change", (event) => {
  const pick = event.target.closest("[data-update-preview]");
  if (!pick || !pick.form) return;
  if (pick.tagName === "SELECT" && pick.value === "other") {
    const row = pick.closest("tr");
    const date = row && row.querySelector("input[type=date]");
    if (date) date.focus();
    return;
  }
  if (pick.tagName === "INPUT") {
    const row = pick.closest("tr");
    const filled = [...row.querySelectorAll(".slot-other input")].every((input) => input.value);
    if (!filled) return;
  }
  const button = pick.form.querySelector("[data-preview-button]");
  if (button) pick.form.requestSubmit(button);
});

// Booking a series: choosing an indication fills the mixture, areas and series from its
// protocol (the indication field carries them, sessions_app/booking_forms.py).
document.addEventListener("change", (event) => {
  const select = event.target.closest("select[data-protocols]");
  if (!select) return;
  const protocol = JSON.parse(select.dataset.protocols)[select.value];
  const form = select.form;
  if (!protocol || !form) return;
  const set = (name, value) => {
    const field = form.elements.namedItem(name);
    if (field && value !== undefined) field.value = value === null ? "" : String(value);
  };
  set("mixture", protocol.mixture);
  set("sessions", protocol.sessions);
  set("interval", protocol.interval);
  set("interval_unit", protocol.interval_unit);
  set("maintenance_interval_days", protocol.maintenance_interval_days);
  form.querySelectorAll('input[name="areas"]').forEach((box) => {
    box.checked = protocol.areas.includes(Number(box.value));
  });
});
