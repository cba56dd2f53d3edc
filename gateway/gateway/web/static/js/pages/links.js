// The pages that e-mail links open: confirm a sign-up, accept an invitation, confirm or undo an e-mail change,
// accept ownership.
// The token comes from the URL fragment (main.js reads it and takes it out of the address bar).
import {call, logout, session} from "../api.js";
import {lang, t} from "../i18n.js";
import {field, h, setFieldError, submitting} from "../ui.js";

const COMPANY = "kadra.company";

function card(ctx, title, ...children) {
  const section = h("section", {class: "card narrow"}, h("h1", {}, title), ...children);
  ctx.main.append(section);
  return section;
}

function noToken(ctx, title) {
  card(ctx, title, h("p", {class: "form-error", role: "alert"}, t("no_token")));
}

function done(f, message, ...more) {
  f.replaceWith(h("div", {class: "done"},
    h("p", {class: "notice ok", role: "status", id: "link-done", tabindex: "-1"}, message), ...more));
}

function actionForm(label, onsubmit, ...fields) {
  const f = h("form", {novalidate: true}, ...fields,
    h("div", {class: "buttons"}, h("button", {type: "submit", class: "primary"}, label)));
  f.addEventListener("submit", (event) => { event.preventDefault(); onsubmit(f); });
  return f;
}

export async function confirmAccount(ctx) {
  if (!ctx.token) return noToken(ctx, t("confirm_account_title"));
  const f = actionForm(t("confirm_account_button"), async (form) => {
    const answer = await submitting(form, () => call("POST", "/accounts/confirm", {token: ctx.token}, {auth: false}));
    if (answer) {
      localStorage.setItem(COMPANY, answer.company_id);
      done(form, t("confirm_account_done"),
        h("p", {}, h("a", {href: "/app/login", class: "button primary", id: "go-login"}, t("go_login"))));
      document.getElementById("link-done").focus();
    }
  });
  // A used link, or an address with an account by now: the login is one step away.
  card(ctx, t("confirm_account_title"), h("p", {}, t("confirm_account_intro")), f,
    h("p", {}, `${t("have_account")} `, h("a", {href: "/app/login"}, t("login_title"))));
  f.querySelector("button").focus();
}

export async function acceptInvitation(ctx) {
  if (!ctx.token) return noToken(ctx, t("invite_title"));
  if (ctx.me) {
    const f = actionForm(t("invite_button"), async (form) => {
      const answer = await submitting(form, () => call("POST", "/invitations/accept", {token: ctx.token}));
      if (answer) {
        localStorage.setItem(COMPANY, answer.company_id);
        done(form, t("invite_done_logged"), h("p", {}, h("a", {href: "/app/", class: "button primary"}, t("product"))));
      }
    });
    card(ctx, t("invite_title"), h("p", {}, t("invite_logged_in", {email: ctx.me.email})), f,
      h("p", {}, h("button", {type: "button", class: "link", onclick: async () => { await logout(); ctx.rerender(); }},
                   t("logout"))));
    return;
  }
  const f = actionForm(t("invite_button"), async (form) => {
    const password = form.elements.password.value;
    const fullName = form.elements.full_name.value.trim();
    if (!password) { setFieldError(form, "password", t("required")); form.elements.password.focus(); return; }
    const body = {token: ctx.token, password, locale: lang()};
    if (fullName) body.full_name = fullName;
    const answer = await submitting(form, () => call("POST", "/invitations/accept", body, {auth: false}));
    if (answer) {
      localStorage.setItem(COMPANY, answer.company_id);
      done(form, t("invite_done"), h("p", {}, h("a", {href: "/app/login", class: "button primary", id: "go-login"}, t("go_login"))));
    }
  },
  field({name: "full_name", label: t("full_name"), autocomplete: "name", maxlength: 200}),
  field({name: "password", label: t("password"), type: "password", autocomplete: "new-password", required: true,
         hint: t("password_hint")}));
  card(ctx, t("invite_title"), h("p", {}, t("invite_intro")), f);
  f.querySelector("input").focus();
}

export async function confirmEmail(ctx) {
  if (!ctx.token) return noToken(ctx, t("confirm_email_title"));
  const f = actionForm(t("confirm_email_button"), async (form) => {
    const ok = await submitting(form, async () => { await call("POST", "/me/email/confirm", {token: ctx.token}, {auth: false}); return true; });
    if (ok) done(form, t("confirm_email_done"), h("p", {}, h("a", {href: "/app/", class: "button primary"}, t("product"))));
  });
  card(ctx, t("confirm_email_title"), h("p", {}, t("confirm_email_intro")), f);
}

export async function revertEmail(ctx) {
  if (!ctx.token) return noToken(ctx, t("revert_email_title"));
  const f = actionForm(t("revert_email_button"), async (form) => {
    const ok = await submitting(form, async () => { await call("POST", "/me/email/revert", {token: ctx.token}, {auth: false}); return true; });
    if (ok) {
      session.clear();
      done(form, t("revert_email_done"), h("p", {}, h("a", {href: "/app/forgot-password", class: "button primary"}, t("forgot_link"))));
    }
  });
  card(ctx, t("revert_email_title"), h("p", {}, t("revert_email_intro")), f);
}

export async function acceptOwnership(ctx) {
  if (!ctx.token) return noToken(ctx, t("ownership_title"));
  const f = actionForm(t("ownership_button"), async (form) => {
    const answer = await submitting(form, () => call("POST", "/ownership/accept", {token: ctx.token}));
    if (answer) {
      localStorage.setItem(COMPANY, answer.company_id);
      done(form, t("ownership_done"), h("p", {}, h("a", {href: "/app/settings", class: "button primary"}, t("settings"))));
    }
  });
  card(ctx, t("ownership_title"), h("p", {}, t("ownership_intro")), f);
}
