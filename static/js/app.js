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
