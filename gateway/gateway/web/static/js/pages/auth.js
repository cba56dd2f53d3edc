// Log in, sign up, "przypomnij hasło" (forgot password) and the reset page its e-mail link opens.
import {call, completeLogin, login as apiLogin, session} from "../api.js";
import {lang, t} from "../i18n.js";
import {field, h, notice, setFieldError, submitting} from "../ui.js";

function card(ctx, title, ...children) {
  const section = h("section", {class: "card narrow"}, h("h1", {}, title), ...children);
  ctx.main.append(section);
  return section;
}

function form(onsubmit, ...children) {
  const el = h("form", {novalidate: true}, ...children);
  el.addEventListener("submit", (event) => { event.preventDefault(); onsubmit(el); });
  return el;
}

const values = (el) => Object.fromEntries(new FormData(el).entries());

function requireFilled(el, names) {
  let ok = true;
  for (const name of names) {
    const input = el.elements[name];
    if (input && !input.value.trim()) { setFieldError(el, name, t("required")); ok = false; }
  }
  if (!ok) el.querySelector("[aria-invalid=true]").focus();
  return ok;
}

export async function login(ctx) {
  if (session.loggedIn && ctx.me) return ctx.afterLogin();
  const el = form(async (f) => {
    if (!requireFilled(f, ["email", "password"])) return;
    const {email, password} = values(f);
    const answer = await submitting(f, async () => apiLogin(email.trim(), password));
    if (answer && answer.second_factor_required) secondStep(ctx, section, answer.pending_token);
    else if (answer) ctx.afterLogin();
  },
  field({name: "email", label: t("email"), type: "email", autocomplete: "username", required: true}),
  field({name: "password", label: t("password"), type: "password", autocomplete: "current-password", required: true}),
  h("div", {class: "buttons"}, h("button", {type: "submit", class: "primary", id: "login-submit"}, t("login_button"))));
  const section = card(ctx, t("login_title"), el,
    h("p", {}, h("a", {href: "/app/forgot-password", id: "forgot-link"}, t("forgot_link"))),
    h("p", {}, `${t("no_account")} `, h("a", {href: "/app/signup"}, t("signup_link"))));
  el.querySelector("input").focus();
}

// The login's second step, in place of the password form: the code from the authenticator app, or (by the
// switch) one of the recovery codes. A pending login lasts 5 minutes; after that the person starts again.
function secondStep(ctx, section, pendingToken, recovery = false) {
  const name = recovery ? "recovery_code" : "code";
  const el = form(async (f) => {
    if (!requireFilled(f, [name])) return;
    const ok = await submitting(f, async () => {
      await completeLogin(pendingToken, {[name]: f.elements[name].value.trim()});
      return true;
    }, {pending_token: name});
    if (ok) ctx.afterLogin();
  },
  recovery
    ? field({name, label: t("recovery_code"), autocomplete: "off", required: true, maxlength: 64})
    : field({name, label: t("totp_code"), autocomplete: "one-time-code", inputmode: "numeric", required: true,
             maxlength: 8, hint: t("totp_code_hint")}),
  h("div", {class: "buttons"}, h("button", {type: "submit", class: "primary", id: "second-factor-submit"}, t("login_button"))));
  const other = h("button", {type: "button", class: "link", id: "second-factor-switch"},
    recovery ? t("use_totp_code") : t("use_recovery_code"));
  other.addEventListener("click", () => secondStep(ctx, section, pendingToken, !recovery));
  section.replaceChildren(h("h1", {}, t("second_step_title")),
    h("p", {id: "second-step-intro"}, recovery ? t("recovery_intro") : t("second_step_intro")), el, h("p", {}, other),
    h("p", {}, h("a", {href: "/app/login"}, t("start_again"))));
  el.querySelector("input").focus();
}

export async function signup(ctx) {
  const el = form(async (f) => {
    if (!requireFilled(f, ["email", "password", "full_name", "company_name"])) return;
    const body = values(f);
    body.email = body.email.trim();
    body.locale = lang();
    const ok = await submitting(f, async () => {
      await call("POST", "/accounts", body, {auth: false});
      return true;
    });
    if (ok) {
      // The same answer for every address: the next step is in the e-mail (a link, or a notice to an owner).
      const sent = h("div", {class: "done"},
        h("p", {class: "notice ok", role: "status", id: "signup-sent", tabindex: "-1"}, t("signup_sent", {email: body.email})),
        h("p", {}, t("signup_sent_hint")));
      f.replaceWith(sent);
      sent.querySelector("#signup-sent").focus();
    }
  },
  field({name: "full_name", label: t("full_name"), autocomplete: "name", required: true, maxlength: 200}),
  field({name: "email", label: t("email"), type: "email", autocomplete: "username", required: true}),
  field({name: "password", label: t("password"), type: "password", autocomplete: "new-password", required: true,
         hint: t("password_hint")}),
  field({name: "company_name", label: t("company_name"), autocomplete: "organization", required: true, maxlength: 200}),
  h("div", {class: "buttons"}, h("button", {type: "submit", class: "primary"}, t("signup_button"))));
  card(ctx, t("signup_title"), el,
    h("p", {}, `${t("have_account")} `, h("a", {href: "/app/login"}, t("login_title"))));
  el.querySelector("input").focus();
}

export async function forgot(ctx) {
  let section;
  const el = form(async (f) => {
    if (!requireFilled(f, ["email"])) return;
    const ok = await submitting(f, async () => {
      await call("POST", "/auth/password/forgot", {email: values(f).email.trim()}, {auth: false});
      return true;
    });
    if (ok) {
      f.replaceWith(h("p", {class: "notice ok", role: "status", id: "forgot-sent"}, t("forgot_sent")));
    }
  },
  field({name: "email", label: t("email"), type: "email", autocomplete: "username", required: true}),
  h("div", {class: "buttons"}, h("button", {type: "submit", class: "primary"}, t("forgot_button"))));
  section = card(ctx, t("forgot_title"), h("p", {}, t("forgot_intro")), el,
    h("p", {}, h("a", {href: "/app/login"}, t("go_login"))));
  el.querySelector("input").focus();
  return section;
}

export function passwordPair() {
  return [
    field({name: "new_password", label: t("new_password"), type: "password", autocomplete: "new-password",
           required: true, hint: t("password_hint")}),
    field({name: "repeat_password", label: t("repeat_password"), type: "password", autocomplete: "new-password",
           required: true}),
  ];
}

export function samePasswords(f) {
  if (f.elements.new_password.value !== f.elements.repeat_password.value) {
    setFieldError(f, "repeat_password", t("passwords_differ"));
    f.elements.repeat_password.focus();
    return false;
  }
  return true;
}

export async function reset(ctx) {
  if (!ctx.token) {
    card(ctx, t("reset_title"), h("p", {class: "form-error", role: "alert"}, t("no_token")),
      h("p", {}, h("a", {href: "/app/forgot-password"}, t("forgot_link"))));
    return;
  }
  const section = card(ctx, t("reset_title"));
  const el = form(async (f) => {
    if (!requireFilled(f, ["new_password", "repeat_password"]) || !samePasswords(f)) return;
    const ok = await submitting(f, async () => {
      await call("POST", "/auth/password/reset", {token: ctx.token, new_password: f.elements.new_password.value},
                 {auth: false});
      return true;
    });
    if (ok) {
      session.clear();
      f.replaceWith(h("div", {}, h("p", {class: "notice ok", role: "status", id: "reset-done"}, t("reset_done")),
                      h("p", {}, h("a", {href: "/app/login", class: "button primary"}, t("go_login")))));
    }
  }, ...passwordPair(),
  h("div", {class: "buttons"}, h("button", {type: "submit", class: "primary"}, t("reset_button"))));
  section.append(el);
  notice(section, "");
  el.querySelector("input").focus();
}
