// The web app's entry: reads the page from the path, builds the header (company menu, switcher,
// language switch) and draws the page. Each page module exports `render(ctx)`.
import {call, events, logout, SECOND_FACTOR_SETUP as SETUP, session} from "./api.js";
import {lang, setLang, t, roleLabel} from "./i18n.js";
import {h} from "./ui.js";
import * as auth from "./pages/auth.js";
import * as links from "./pages/links.js";
import * as home from "./pages/home.js";
import * as settings from "./pages/settings.js";
import * as account from "./pages/account.js";
import * as mobile from "./pages/mobile.js";
import * as audit from "./pages/audit.js";

const COMPANY = "kadra.company";
const RETURN = "kadra.return";

// Links from e-mails carry their token in the fragment (#token=...): read it once, then take it out of
// the address bar (it never reaches a server, and should not stay in the history either).
const fragment = new URLSearchParams(location.hash.replace(/^#/, ""));
const linkToken = fragment.get("token") || "";
if (linkToken) history.replaceState(null, "", location.pathname + location.search);

// The pages of the chosen company: a company whose policy requires a second factor the person has not set up
// sends them to "Moje konto" instead (the API refuses its routes as well).
const COMPANY_PAGES = ["", "settings", "audit"];

// page -> [module render, needs login, title key]
const PAGES = {
  "": [home.render, true, "product"],
  "login": [auth.login, false, "login_title"],
  "signup": [auth.signup, false, "signup_title"],
  "forgot-password": [auth.forgot, false, "forgot_title"],
  "reset-password": [auth.reset, false, "reset_title"],
  "confirm-account": [links.confirmAccount, false, "confirm_account_title"],
  "accept-invitation": [links.acceptInvitation, false, "invite_title"],
  "confirm-email": [links.confirmEmail, false, "confirm_email_title"],
  "revert-email": [links.revertEmail, false, "revert_email_title"],
  "accept-ownership": [links.acceptOwnership, true, "ownership_title"],
  "settings": [settings.render, true, "settings"],
  "account": [account.render, true, "account"],
  "mobile": [mobile.render, true, "mobile"],
  "audit": [audit.render, true, "audit"],
};

function pageName() {
  return location.pathname.replace(/^\/app\/?/, "").replace(/\/$/, "");
}

export function go(path) {
  location.assign(path);
}

// After logging in, back to where the person was sent from (e.g. an e-mail link that needs a login).
export function afterLogin() {
  const back = sessionStorage.getItem(RETURN);
  sessionStorage.removeItem(RETURN);
  go(back && back.startsWith("/app/") ? back : "/app/");
}

// The company requires a second factor the person has not set up: to "Moje konto", whose two-step login
// section says which company asked (pages/account.js).
function askSecondFactor(companyId, companyName) {
  sessionStorage.setItem(SETUP, JSON.stringify({company_id: companyId, company_name: companyName || ""}));
  if (pageName() !== "account") go("/app/account#second-factor");
}

function requireLogin() {
  const here = location.pathname + (linkToken ? `#token=${encodeURIComponent(linkToken)}` : "");
  sessionStorage.setItem(RETURN, here);
  go("/app/login");
}

function langButton(rerender) {
  return h("button", {type: "button", class: "lang-switch", lang: lang() === "pl" ? "en" : "pl",
                      "aria-label": t("switch_lang_label"),
                      onclick: () => { setLang(lang() === "pl" ? "en" : "pl"); rerender(); }},
    t("switch_lang"));
}

function companyMenu(ctx) {
  const menuId = "company-menu";
  const items = [
    ["/app/settings", t("settings")],
    ["/app/mobile", t("mobile")],
    ctx.can("audit.read") ? ["/app/audit", t("audit")] : null,
    ["/app/account", t("account")],
  ].filter(Boolean);
  const list = h("ul", {id: menuId, class: "menu-list", hidden: true},
    items.map(([href, label]) => h("li", {}, h("a", {href, "aria-current": location.pathname === href ? "page" : null}, label))),
    h("li", {}, h("button", {type: "button", class: "link", id: "logout",
                             onclick: async () => { await logout(); go("/app/login"); }}, t("logout"))));
  const button = h("button", {type: "button", class: "menu-button", id: "company-menu-button",
                              "aria-expanded": "false", "aria-controls": menuId},
    ctx.company ? ctx.company.name : t("account"), h("span", {"aria-hidden": "true", class: "caret"}, " ▾"));
  const setOpen = (open) => {
    button.setAttribute("aria-expanded", String(open));
    list.hidden = !open;
  };
  button.addEventListener("click", () => {
    const open = button.getAttribute("aria-expanded") !== "true";
    setOpen(open);
    if (open) list.querySelector("a, button").focus();
  });
  const wrap = h("nav", {class: "company-menu", "aria-label": t("company_menu")}, button, list);
  wrap.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && !list.hidden) { setOpen(false); button.focus(); }
  });
  document.addEventListener("click", (event) => { if (!wrap.contains(event.target)) setOpen(false); });
  return wrap;
}

function companySwitcher(ctx, rerender) {
  const companies = ctx.me.companies || [];
  if (companies.length < 2) return null;
  const select = h("select", {id: "company-switcher", name: "company"},
    companies.map((c) => h("option", {value: c.company_id, selected: ctx.company && c.company_id === ctx.company.company_id},
                           `${c.name} — ${roleLabel(ctx.roles, c.role)}`)));
  select.addEventListener("change", () => { localStorage.setItem(COMPANY, select.value); rerender(); });
  return h("div", {class: "company-switcher"}, h("label", {for: "company-switcher"}, t("company")), select);
}

async function loadContext() {
  const [me, roles] = await Promise.all([call("GET", "/me"), call("GET", "/roles", undefined, {auth: false})]);
  const companies = me.companies || [];
  const chosen = localStorage.getItem(COMPANY);
  const company = companies.find((c) => c.company_id === chosen) || companies[0] || null;
  const roleOf = (role) => roles.find((r) => r.role === role) || {permissions: [], manages: []};
  return {
    me, roles, company,
    can: (permission) => Boolean(company) && roleOf(company.role).permissions.includes(permission),
    manages: (role) => Boolean(company) && (roleOf(company.role).manages || []).includes(role),
    roleOf,
  };
}

async function render() {
  document.documentElement.lang = lang();
  const busyText = document.querySelector("#busy .busy-text");
  if (busyText) busyText.textContent = t("working");
  const root = document.getElementById("app");
  const name = pageName();
  const entry = PAGES[name];
  const main = h("main", {id: "main", tabindex: "-1"});
  const header = h("header", {class: "top"}, h("a", {class: "brand", href: "/app/"}, t("product")));
  root.replaceChildren(h("a", {class: "skip", href: "#main"}, lang() === "en" ? "Skip to content" : "Przejdź do treści"), header, main);

  if (!entry) {
    header.append(langButton(render));
    document.title = `${t("not_found")} — Kadra`;
    main.append(h("h1", {}, t("not_found")), h("p", {}, h("a", {href: "/app/"}, t("back_home"))));
    return;
  }
  const [draw, needsLogin, titleKey] = entry;
  document.title = `${t(titleKey)} — Kadra`;
  const ctx = {main, token: linkToken, rerender: render, afterLogin, go, me: null, roles: [], company: null,
               can: () => false, manages: () => false};
  if (session.loggedIn) {
    try {
      Object.assign(ctx, await loadContext());
    } catch (error) {
      if (!session.loggedIn && needsLogin) return requireLogin();
      if (needsLogin) {
        main.append(h("p", {class: "form-error", role: "alert"}, t("network_error")));
        header.append(langButton(render));
        return;
      }
    }
  } else if (needsLogin) {
    return requireLogin();
  }
  if (ctx.company && ctx.company.second_factor_required && COMPANY_PAGES.includes(name)) {
    return askSecondFactor(ctx.company.company_id, ctx.company.name);
  }
  if (ctx.me) {
    const switcher = companySwitcher(ctx, render);
    if (switcher) header.append(switcher);
    header.append(companyMenu(ctx));
  }
  header.append(langButton(render));
  await draw(ctx);
}

events.addEventListener("second-factor-required", (event) => {
  askSecondFactor(event.detail.company_id, event.detail.company_name);
});

events.addEventListener("logged-out", () => {
  const entry = PAGES[pageName()];
  if (entry && entry[1]) requireLogin();
});

render();
