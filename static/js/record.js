// The session record form (templates/records/form.html), on a tablet in the treatment room:
// - a tap on a zone of the chart ticks or unticks its area in the list beside it;
// - ticking an area adds its card (htmx: the server fills it from the protocol, the last
//   session and the lots in use) in name order; unticking or "Remove" takes it away;
// - "Same lots as the area above" copies the lot choices of the card above;
// - what is typed is saved as the draft on the server as it goes (a second after the last
//   change), and the checks before signing come back with each save.
// Without JavaScript the same form works with its buttons ("Show the areas ticked",
// "Remove", "Save the draft"), which post the whole form.
(() => {
  const form = document.getElementById("record-form");
  if (!form) return;
  const cards = document.getElementById("area-cards");
  const noArea = document.getElementById("no-area");
  const status = document.getElementById("draft-status");
  const draftUrl = form.dataset.draftUrl;
  const areaUrl = (pk) => form.dataset.areaUrl.replace(/\/0\/$/, `/${pk}/`);
  let timer = null;
  let saving = null;
  let again = false;

  const toggleFor = (pk) => form.querySelector(`.area-toggle[value="${pk}"]`);
  const cardFor = (pk) => document.getElementById(`area-card-${pk}`);

  function paintChart() {
    form.querySelectorAll(".chart-zone").forEach((zone) => {
      const box = toggleFor(zone.dataset.area);
      zone.classList.toggle("is-on", Boolean(box && box.checked));
    });
    noArea.hidden = cards.children.length > 0;
  }

  async function addCard(box) {
    if (cardFor(box.value)) return;
    const name = box.nextElementSibling.textContent.trim();
    const after = [...cards.children].find((card) => card.dataset.name.localeCompare(name) > 0);
    const options = after ? { target: after, swap: "beforebegin" } : { target: cards, swap: "beforeend" };
    await htmx.ajax("GET", areaUrl(box.value), options);
    paintChart();
    save();
  }

  function removeCard(pk) {
    const card = cardFor(pk);
    if (card) card.remove();
    const box = toggleFor(pk);
    if (box) box.checked = false;
    paintChart();
    save();
  }

  function copyLotsFromAbove(card) {
    const above = card.previousElementSibling;
    if (!above) return;
    card.querySelectorAll("select[data-product]").forEach((select) => {
      const source = above.querySelector(`select[data-product="${select.dataset.product}"]`);
      if (source && [...select.options].some((o) => o.value === source.value)) select.value = source.value;
    });
  }

  function save(now = false) {
    if (!draftUrl) return;
    clearTimeout(timer);
    timer = setTimeout(send, now ? 0 : 1000);
  }

  async function send() {
    if (saving) {
      again = true;
      return;
    }
    const data = new FormData(form);
    data.delete("before_photos");
    data.delete("after_photos");
    status.textContent = "Saving the draft…";
    saving = fetch(draftUrl, {
      method: "POST",
      body: data,
      headers: { "X-CSRFToken": data.get("csrfmiddlewaretoken") },
      credentials: "same-origin",
      keepalive: true,
    });
    try {
      const response = await saving;
      const text = await response.text();
      if (!response.ok) throw new Error(response.status === 409 ? text : `the server answered ${response.status}`);
      showChecks(text);
    } catch (error) {
      status.textContent = `Draft not saved (${error.message}): use “Save the draft”.`;
    } finally {
      saving = null;
      if (again) {
        again = false;
        save(true);
      }
    }
  }

  function showChecks(html) {
    const panel = document.getElementById("record-checks-panel");
    panel.innerHTML = html;
    const checks = panel.querySelector("#record-checks");
    document.getElementById("ceiling-decision").hidden = checks.dataset.warnings === "0";
    panel.querySelectorAll(".flag-source").forEach((source) => {
      const target = form.querySelector(`.area-flags[data-flags="${source.dataset.flagsFor}"]`);
      if (target) target.innerHTML = source.innerHTML;
    });
    const saved = panel.querySelector("#draft-saved");
    status.textContent = saved ? `Draft saved at ${saved.dataset.saved}: it is kept as you go.` : "";
  }

  form.addEventListener("click", (event) => {
    const zone = event.target.closest(".chart-zone[data-pick]");
    if (zone) {
      const box = toggleFor(zone.dataset.area);
      if (box) {
        box.checked = !box.checked;
        box.dispatchEvent(new Event("change", { bubbles: true }));
      }
      return;
    }
    const remove = event.target.closest(".area-remove");
    if (remove) {
      event.preventDefault();
      removeCard(remove.closest(".area-card").dataset.area);
    }
  });

  form.addEventListener("change", (event) => {
    const target = event.target;
    if (target.classList.contains("area-toggle")) {
      if (target.checked) addCard(target);
      else removeCard(target.value);
      return;
    }
    const card = target.closest(".area-card");
    if (card && target.name.endsWith("-same_lots") && target.checked) copyLotsFromAbove(card);
    if (card && target.matches("select[data-product]")) {
      const same = card.querySelector('input[name$="-same_lots"]');
      if (same && same.checked) same.checked = false;
    }
    if (target.type !== "file") save();
  });
  form.addEventListener("input", (event) => {
    if (event.target.type !== "file" && !event.target.classList.contains("area-toggle")) save();
  });
  // Leaving the page: what is pending is sent at once.
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "hidden" && timer) save(true);
  });
  form.addEventListener("submit", () => clearTimeout(timer));
  paintChart();
})();
