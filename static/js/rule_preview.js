// The reminder-rule editor's preview (sessions_app/admin/reminders.py): as the
// kind or the texts change, the server fills them in for a sample client and
// counts the SMS's characters and parts (reminders/sms_text.py), so the
// preview is exactly what the worker would send. Text only (textContent).
(() => {
  const box = document.getElementById("rule-preview");
  const form = box && box.closest("form");
  if (!form) return;
  const fields = ["kind", "subject", "body", "sms_body"];
  const show = (id, text, isError) => {
    const element = document.getElementById(id);
    element.textContent = text || "—";
    element.classList.toggle("errornote", Boolean(isError));
  };
  let timer = null;
  let asked = 0;

  async function refresh() {
    const data = new FormData();
    data.append("csrfmiddlewaretoken", form.querySelector("[name=csrfmiddlewaretoken]").value);
    for (const name of fields) {
      const input = form.elements.namedItem(name);
      data.append(name, input ? input.value : "");
    }
    const number = ++asked;
    const response = await fetch(box.dataset.previewUrl, { method: "POST", body: data, credentials: "same-origin" });
    if (!response.ok || number !== asked) return;
    const preview = await response.json();
    if (preview.error) {
      for (const id of ["preview-email-subject", "preview-email-text", "preview-sms-text", "preview-sms-length"]) {
        show(id, preview.error, true);
      }
      return;
    }
    show("preview-email-subject", preview.email_error || preview.email_subject, Boolean(preview.email_error));
    show("preview-email-text", preview.email_error || preview.email_text, Boolean(preview.email_error));
    show("preview-sms-text", preview.sms_error || preview.sms_text, Boolean(preview.sms_error));
    const length = preview.sms_error ? "" : preview.sms_length + (preview.sms_parts > 1 ? ": sent as several messages, each one paid" : "");
    show("preview-sms-length", length, preview.sms_parts > 1);
  }

  const later = () => {
    clearTimeout(timer);
    timer = setTimeout(refresh, 250);
  };
  for (const name of fields) {
    const input = form.elements.namedItem(name);
    if (input) {
      input.addEventListener("input", later);
      input.addEventListener("change", later);
    }
  }
  refresh();
})();
