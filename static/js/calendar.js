// The schedule's calendar (templates/schedule/_grid.html): drag a session to
// another time or column, click free time to book there at that quarter hour,
// open a session in a panel. Everything here has a path without it: the
// session's page (and its Move form), the free period's link.
//
// A drop decides nothing: it opens the move preview at the time and column
// dropped on, where the server applies the rules and says why a slot cannot be
// had (closed, booked, too close to the session before) before anything is saved.
(() => {
  "use strict";

  const QUARTER = 15;
  // How far the pointer moves before a press becomes a drag (a click otherwise).
  const THRESHOLD = 5;

  const pad = (n) => String(n).padStart(2, "0");
  const clock = (minute) => `${pad(Math.floor(minute / 60))}:${pad(minute % 60)}`;

  function geometry(cal) {
    return {
      first: Number(cal.dataset.firstMinute),
      rowMinutes: Number(cal.dataset.rowMinutes),
      rows: Number(getComputedStyle(cal).getPropertyValue("--rows")),
    };
  }

  // The grid is a list on a phone: no dragging, no quarter-hour picking there.
  function isGrid(body) {
    return getComputedStyle(body).display === "grid";
  }

  function rowPixels(body, geo) {
    return body.getBoundingClientRect().height / geo.rows;
  }

  function columnAt(cal, x, y) {
    for (const col of cal.querySelectorAll(".cal-col")) {
      const body = col.querySelector(".cal-body");
      const r = body.getBoundingClientRect();
      if (x >= r.left && x < r.right && y >= r.top - 40 && y < r.bottom + 40) return col;
    }
    return null;
  }

  // What is in the way of [top, bottom) minutes in a column, as the grid shows it.
  function obstacle(col, geo, top, bottom, moving) {
    for (const item of col.querySelectorAll(".cal-closed, .cal-session")) {
      if (item === moving) continue;
      const row = item.style.gridRowStart ? Number(item.style.gridRowStart) : Number.parseInt(item.style.gridRow, 10);
      const span = Number((item.style.gridRowEnd || "").replace("span", "").trim()) || 1;
      const start = geo.first + (row - 1) * geo.rowMinutes;
      const end = start + span * geo.rowMinutes;
      if (start < bottom && end > top) {
        if (item.classList.contains("cal-closed")) return item.dataset.reason || "Closed";
        const who = item.querySelector(".cal-client");
        return `Booked: ${who ? who.textContent : "another session"}`;
      }
    }
    return null;
  }

  function announce(text) {
    const status = document.getElementById("calendar-status");
    if (status) status.textContent = text;
  }

  function startDragging(cal) {
    let drag = null;
    let suppressClick = false;

    cal.addEventListener("pointerdown", (event) => {
      const block = event.target.closest(".cal-movable[data-move-url]");
      if (!block || event.button !== 0 || event.pointerType === "touch") return;
      const body = block.closest(".cal-body");
      if (!isGrid(body)) return;
      const rect = block.getBoundingClientRect();
      const geo = geometry(cal);
      drag = {
        block,
        geo,
        startX: event.clientX,
        startY: event.clientY,
        offsetY: event.clientY - rect.top,
        offsetX: event.clientX - rect.left,
        minutes: Math.round(rect.height / rowPixels(body, geo)) * geo.rowMinutes,
        pointerId: event.pointerId,
        active: false,
      };
    });

    cal.addEventListener("pointermove", (event) => {
      if (!drag || event.pointerId !== drag.pointerId) return;
      if (!drag.active) {
        if (Math.hypot(event.clientX - drag.startX, event.clientY - drag.startY) < THRESHOLD) return;
        begin(event);
      }
      event.preventDefault();
      follow(event);
    });

    function begin(event) {
      drag.active = true;
      cal.setPointerCapture(event.pointerId);
      const rect = drag.block.getBoundingClientRect();
      const ghost = drag.block.cloneNode(true);
      ghost.classList.add("cal-ghost");
      ghost.removeAttribute("data-move-url");
      ghost.style.width = `${rect.width}px`;
      ghost.style.height = `${rect.height}px`;
      document.body.appendChild(ghost);
      drag.ghost = ghost;
      drag.block.classList.add("cal-dragging");
      document.body.style.userSelect = "none";
      const client = drag.block.querySelector(".cal-client");
      announce(`Moving ${client ? client.textContent : "the session"}: drop it on a time, or press Escape.`);
    }

    function follow(event) {
      drag.ghost.style.left = `${event.clientX - drag.offsetX}px`;
      drag.ghost.style.top = `${event.clientY - drag.offsetY}px`;
      const col = columnAt(cal, event.clientX, event.clientY);
      if (drag.indicator && drag.indicator.parentElement && (!col || drag.indicator.parentElement !== col.querySelector(".cal-body"))) {
        drag.indicator.remove();
      }
      drag.target = null;
      if (!col) return;
      const body = col.querySelector(".cal-body");
      const geo = drag.geo;
      const px = rowPixels(body, geo);
      const top = event.clientY - drag.offsetY - body.getBoundingClientRect().top;
      const last = geo.first + geo.rows * geo.rowMinutes;
      let minute = geo.first + Math.round((top / px) * geo.rowMinutes / QUARTER) * QUARTER;
      minute = Math.max(geo.first, Math.min(minute, last - drag.minutes));
      if (!drag.indicator) {
        drag.indicator = document.createElement("div");
        drag.indicator.className = "cal-drop";
      }
      if (drag.indicator.parentElement !== body) body.appendChild(drag.indicator);
      const row = (minute - geo.first) / geo.rowMinutes + 1;
      drag.indicator.style.gridRow = `${row} / span ${Math.max(1, drag.minutes / geo.rowMinutes)}`;
      const problem = obstacle(col, geo, minute, minute + drag.minutes, drag.block);
      drag.indicator.classList.toggle("cal-drop-refused", Boolean(problem));
      const where = `${col.dataset.dayLabel} ${clock(minute)} · ${col.dataset.resource}`;
      drag.indicator.textContent = problem ? `${clock(minute)} · ${problem}` : `${clock(minute)}`;
      drag.indicator.title = where;
      drag.target = { col, minute };
    }

    function finish(go) {
      if (!drag) return;
      const { block, ghost, indicator, target, active } = drag;
      if (ghost) ghost.remove();
      if (indicator) indicator.remove();
      block.classList.remove("cal-dragging");
      document.body.style.userSelect = "";
      drag = null;
      if (!active) return;
      suppressClick = true;
      setTimeout(() => { suppressClick = false; }, 0);
      if (!go || !target) {
        announce("Move cancelled.");
        return;
      }
      const url = new URL(block.dataset.moveUrl, window.location.href);
      url.searchParams.set("new_date", target.col.dataset.date);
      url.searchParams.set("new_time", clock(target.minute));
      if (target.col.dataset.practitioner) url.searchParams.set("practitioner", target.col.dataset.practitioner);
      if (target.col.dataset.room) url.searchParams.set("room", target.col.dataset.room);
      url.searchParams.set("next", cal.dataset.next);
      announce("Opening the move preview…");
      window.location.assign(url.toString());
    }

    cal.addEventListener("pointerup", (event) => {
      if (drag && event.pointerId === drag.pointerId) finish(true);
    });
    cal.addEventListener("pointercancel", () => finish(false));
    // A session's link would start the browser's own drag of a link, which
    // cancels the pointer's: the calendar does the dragging.
    cal.addEventListener("dragstart", (event) => {
      if (event.target.closest && event.target.closest(".cal-movable")) event.preventDefault();
    });
    document.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && drag && drag.active) finish(false);
    });
    // The click that ends a drag does not open the session.
    cal.addEventListener("click", (event) => {
      if (suppressClick) {
        event.preventDefault();
        event.stopPropagation();
      }
    }, true);
  }

  // Free time: the link books at its first free quarter; a click lower down
  // books at the quarter hour under the pointer.
  function pickQuarter(cal) {
    cal.addEventListener("click", (event) => {
      const free = event.target.closest(".cal-free");
      if (!free || event.defaultPrevented || !isGrid(free.parentElement)) return;
      const geo = geometry(cal);
      const [sh, sm] = free.dataset.start.split(":").map(Number);
      const [eh, em] = free.dataset.end.split(":").map(Number);
      const start = sh * 60 + sm;
      const end = eh * 60 + em;
      const px = rowPixels(free.parentElement, geo);
      const offset = event.clientY - free.getBoundingClientRect().top;
      // The quarter hour under the pointer; in the first, the free period's own start.
      let minute = Math.floor((start + Math.floor(offset / px) * geo.rowMinutes) / QUARTER) * QUARTER;
      if (minute <= start) minute = start;
      if (minute >= end) return;
      const url = new URL(free.href);
      url.searchParams.set("time", clock(minute));
      event.preventDefault();
      window.location.assign(url.toString());
    });
  }

  // A session opens in a panel over the calendar; its actions work there as on its page.
  function openInPanel(cal) {
    const dialog = document.getElementById("session-dialog");
    if (!dialog || !window.bootstrap) return;
    const body = document.getElementById("session-dialog-body");
    const modal = window.bootstrap.Modal.getOrCreateInstance(dialog);
    cal.addEventListener("click", async (event) => {
      const link = event.target.closest(".cal-session-link");
      if (!link || event.defaultPrevented || event.metaKey || event.ctrlKey || event.shiftKey) return;
      event.preventDefault();
      try {
        const response = await fetch(link.href, { headers: { "HX-Request": "true" }, credentials: "same-origin" });
        if (!response.ok) throw new Error(String(response.status));
        body.innerHTML = await response.text();
        if (window.htmx) window.htmx.process(body);
        modal.show();
      } catch {
        window.location.assign(link.href);
      }
    });
  }

  // The line follows the clinic's clock: the server says which minute it was.
  function moveNowLine(cal) {
    const line = cal.querySelector(".cal-now");
    if (!line) return;
    const geo = geometry(cal);
    const served = Number(line.dataset.minute);
    const loaded = Date.now();
    setInterval(() => {
      const minute = served + Math.floor((Date.now() - loaded) / 60_000);
      const row = Math.floor((minute - geo.first) / geo.rowMinutes) + 1;
      if (row >= 1 && row <= geo.rows) line.style.gridRow = String(row);
    }, 60_000);
  }

  document.addEventListener("DOMContentLoaded", () => {
    const cal = document.querySelector(".cal");
    if (!cal) return;
    startDragging(cal);
    pickQuarter(cal);
    openInPanel(cal);
    moveNowLine(cal);
  });
})();
