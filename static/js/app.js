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
