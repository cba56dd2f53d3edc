// The company's audit log: newest first, paged.
import {call} from "../api.js";
import {actionLabel, formatDate, lang, problemText, roleLabel, t} from "../i18n.js";
import {h, table} from "../ui.js";

const PER_PAGE = 20;
const KEYS = {from: ["z", "from"], to: ["na", "to"], role: ["rola", "role"], name: ["nazwa", "name"],
              old_role: ["poprzednia rola", "old role"], new_role: ["nowa rola", "new role"],
              email: ["e-mail", "e-mail"], fields: ["pola", "fields"],
              required: ["wymagane", "required"]};
const YES_NO = {true: ["tak", "yes"], false: ["nie", "no"]};

function describe(ctx, details) {
  if (!details || typeof details !== "object") return "";
  const parts = [];
  for (const [key, value] of Object.entries(details)) {
    if (value === null || value === undefined || typeof value === "object") continue;
    if (key.endsWith("_id")) continue;
    const shown = ["from", "to", "role", "old_role", "new_role"].includes(key) ? roleLabel(ctx.roles, String(value))
      : typeof value === "boolean" ? YES_NO[value][lang() === "en" ? 1 : 0] : String(value);
    const pair = KEYS[key];
    parts.push(`${pair ? pair[lang() === "en" ? 1 : 0] : key.replace(/_/g, " ")}: ${shown}`);
  }
  return parts.join(", ");
}

export async function render(ctx) {
  const {main, company} = ctx;
  main.append(h("h1", {}, t("audit")));
  if (!company || !ctx.can("audit.read")) {
    main.append(h("p", {class: "form-error", role: "alert"}, company ? t("no_access") : t("no_company")));
    return;
  }
  const box = h("section", {class: "card", "aria-live": "polite"});
  main.append(box);
  let page = Math.max(1, Number(new URLSearchParams(location.search).get("page")) || 1);

  async function load() {
    let answer;
    try {
      answer = await call("GET", `/companies/${company.company_id}/audit?page=${page}&per_page=${PER_PAGE}`);
    } catch (error) {
      box.replaceChildren(h("p", {class: "form-error", role: "alert"}, problemText(error.problem) || t("network_error")));
      return;
    }
    const items = answer.items || [];
    const pages = Math.max(1, Math.ceil((answer.total || 0) / (answer.per_page || PER_PAGE)));
    const rows = items.map((e) => h("tr", {},
      h("td", {}, formatDate(e.at)),
      h("td", {}, actionLabel(e.action)),
      h("td", {}, e.actor_name || ""),
      h("td", {}, [e.subject_name, e.subject_email].filter(Boolean).join(" – ")),
      h("td", {}, describe(ctx, e.details))));
    const prev = h("button", {type: "button", class: "secondary", id: "audit-prev", disabled: page <= 1,
                              onclick: () => { page -= 1; load(); }}, t("prev"));
    const next = h("button", {type: "button", class: "secondary", id: "audit-next", disabled: page >= pages,
                              onclick: () => { page += 1; load(); }}, t("next"));
    const url = new URL(location.href);
    url.searchParams.set("page", String(page));
    history.replaceState(null, "", url.pathname + url.search);
    const focused = document.activeElement && document.activeElement.id;
    box.replaceChildren(
      items.length ? table({className: "audit", columns: [t("a_when"), t("a_action"), t("a_actor"), t("a_subject"), t("a_details")], rows})
                   : h("p", {}, t("audit_empty")),
      h("nav", {class: "pager", "aria-label": t("audit")}, prev, h("span", {id: "audit-page"}, t("page_of", {page, pages})), next));
    if (focused === "audit-prev" || focused === "audit-next") {
      const again = document.getElementById(focused);
      (again && !again.disabled ? again : (prev.disabled ? next : prev)).focus();
    }
  }
  await load();
}
