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
