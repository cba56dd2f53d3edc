// DOM helpers: elements, labelled fields with their error slots, API errors next to their fields,
// forms that show they are working, and keyboard-usable modal dialogs.
import {ApiError} from "./api.js";
import {fieldText, problemText, t} from "./i18n.js";

let uid = 0;
export function nextId(prefix) { uid += 1; return `${prefix}-${uid}`; }

// h("button", {type: "button", onclick: fn, class: "x"}, "text", child, ...)
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), value);
    else if (key === "class") el.className = value;
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key === "value") el.value = value;
    else if (key === "checked") el.checked = Boolean(value);
    else if (value === true) el.setAttribute(key, "");
    else el.setAttribute(key, String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

// A labelled input with an error slot (aria-describedby), the field named as the API names it.
export function field({name, label, type = "text", value = "", autocomplete, required = false, hint, inputmode,
                       readonly = false, maxlength, oninput}) {
  const id = nextId(`f-${name.replace(/\W/g, "-")}`);
  const errorId = `${id}-error`;
  const hintId = hint ? `${id}-hint` : null;
  const input = h("input", {id, name, type, value, autocomplete, required, inputmode, readonly, maxlength,
                            "aria-describedby": [hintId, errorId].filter(Boolean).join(" "), oninput});
  return h("div", {class: "field", "data-field": name},
    h("label", {for: id}, label),
    input,
    hint ? h("p", {class: "hint", id: hintId}, hint) : null,
    h("p", {class: "error", id: errorId, hidden: true, role: "alert"}));
}

export function setFieldError(form, name, message) {
  const wrap = form.querySelector(`[data-field="${CSS.escape(name)}"]`);
  if (!wrap) return false;
  const slot = wrap.querySelector(".error");
  const input = wrap.querySelector("input, select, textarea");
  slot.textContent = message || "";
  slot.hidden = !message;
  if (input) {
    if (message) input.setAttribute("aria-invalid", "true");
    else input.removeAttribute("aria-invalid");
  }
  return true;
}

export function clearErrors(form) {
  form.querySelectorAll("[data-field]").forEach((wrap) => setFieldError(form, wrap.dataset.field, ""));
  const box = form.querySelector(".form-error");
  if (box) { box.textContent = ""; box.hidden = true; }
}

export function formError(form, message) {
  let box = form.querySelector(".form-error");
  if (!box) {
    box = h("p", {class: "form-error", role: "alert"});
    form.prepend(box);
  }
  box.textContent = message;
  box.hidden = !message;
}

// An ApiError shown where it belongs: each `errors[]` entry next to its field (in the page's language),
// the detail above the form when no field took it.
function fieldFor(form, raw, fieldMap) {
  raw = String(raw || "");
  const last = raw.split(".").pop();
  const candidates = [fieldMap[raw], fieldMap[last], raw.replace(/^(json|query|body)\./, ""), last, raw.replace(/\./g, "_")];
  return candidates.find((c) => c && form.querySelector(`[data-field="${CSS.escape(c)}"]`));
}

export function showApiError(form, error, fieldMap = {}) {
  const errors = (error && error.errors) || [];
  const leftover = [];
  let first = null;
  for (const e of errors) {
    const target = fieldFor(form, e.field, fieldMap);
    if (target) {
      setFieldError(form, target, fieldText(e));
      first = first || form.querySelector(`[data-field="${CSS.escape(target)}"] :is(input, select, textarea)`);
    } else {
      leftover.push(fieldText(e));
    }
  }
  if (!errors.length || leftover.length) {
    formError(form, [problemText(error && error.problem) || t("network_error"), ...leftover].join(" "));
  }
  if (first) first.focus();
}

// Run `action` for a submitted form: clears old errors, disables the submit button, marks the form busy.
export async function submitting(form, action, fieldMap) {
  clearErrors(form);
  const buttons = form.querySelectorAll("button[type=submit]");
  buttons.forEach((b) => { b.disabled = true; });
  form.setAttribute("aria-busy", "true");
  try {
    return await action();
  } catch (error) {
    if (error instanceof ApiError) showApiError(form, error, fieldMap);
    else formError(form, error && error.message ? error.message : String(error));
    return undefined;
  } finally {
    buttons.forEach((b) => { b.disabled = false; });
    form.removeAttribute("aria-busy");
  }
}

// A status line for successes (polite live region).
export function notice(container, message, kind = "ok") {
  let box = container.querySelector(":scope > .notice");
  if (!box) {
    box = h("p", {class: "notice", role: "status"});
    container.prepend(box);
  }
  box.className = `notice ${kind}`;
  box.textContent = message;
  box.hidden = !message;
}

const FOCUSABLE = "a[href], button:not([disabled]), input:not([disabled]):not([type=hidden]), select:not([disabled]), " +
                  "textarea:not([disabled]), [tabindex]:not([tabindex='-1'])";

function focusables(root) {
  return [...root.querySelectorAll(FOCUSABLE)].filter((el) => !el.closest("[hidden]") && el.offsetParent !== null);
}

// A modal dialog usable by keyboard alone: focus moves in (first field), Tab and Shift+Tab stay inside,
// Esc closes, and focus returns to what opened it. `build(close)` returns the dialog's body.
export function openDialog({title, build, labelledBy, className = "", fallback = null}) {
  const opener = document.activeElement;
  const titleId = nextId("dlg-title");
  const dialog = h("dialog", {class: `dialog ${className}`, "aria-labelledby": labelledBy || titleId, "aria-modal": "true"});
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    dialog.close();
    dialog.remove();
    // Focus returns to the opener; if the page redrew it meanwhile, to its twin (same data-key), else to `fallback`.
    let target = opener;
    if (target && !target.isConnected && target.dataset && target.dataset.key) {
      target = document.querySelector(`[data-key="${CSS.escape(target.dataset.key)}"]`);
    }
    if (!target || !target.isConnected) target = typeof fallback === "function" ? fallback() : fallback;
    if (target && typeof target.focus === "function") target.focus();
  };
  dialog.append(h("h2", {id: titleId, class: "dialog-title"}, title), build(close));
  dialog.addEventListener("cancel", (event) => { event.preventDefault(); close(); });
  dialog.addEventListener("keydown", (event) => {
    if (event.key === "Escape") { event.preventDefault(); close(); return; }
    if (event.key !== "Tab") return;
    const items = focusables(dialog);
    if (!items.length) { event.preventDefault(); return; }
    const first = items[0];
    const last = items[items.length - 1];
    if (event.shiftKey && (document.activeElement === first || !dialog.contains(document.activeElement))) {
      event.preventDefault(); last.focus();
    } else if (!event.shiftKey && (document.activeElement === last || !dialog.contains(document.activeElement))) {
      event.preventDefault(); first.focus();
    }
  });
  document.body.append(dialog);
  dialog.showModal();
  const target = dialog.querySelector("[autofocus]") || focusables(dialog).find((el) => el.matches("input, select, textarea")) || focusables(dialog)[0];
  if (target) target.focus();
  return {dialog, close};
}

// A confirmation dialog: text, Anuluj and the confirming button; `action()` runs on confirm.
export function confirmDialog({title, text, confirmLabel, danger = false, action, extra, fallback}) {
  return openDialog({title, fallback, build: (close) => {
    const form = h("form", {class: "dialog-form", novalidate: true},
      h("p", {}, text),
      extra ? extra() : null,
      h("div", {class: "buttons"},
        h("button", {type: "button", class: "secondary", onclick: close}, t("cancel")),
        h("button", {type: "submit", class: danger ? "danger" : "primary"}, confirmLabel)));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const ok = await submitting(form, async () => { await action(form); return true; });
      if (ok) close();
    });
    return form;
  }});
}

export function table({caption, columns, rows, className = ""}) {
  return h("table", {class: `grid ${className}`},
    caption ? h("caption", {}, caption) : null,
    h("thead", {}, h("tr", {}, columns.map((c) => h("th", {scope: "col"}, c)))),
    h("tbody", {}, rows));
}
