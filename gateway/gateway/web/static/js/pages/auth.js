// Log in, sign up, "przypomnij hasło" (forgot password) and the reset page its e-mail link opens.
import {ApiError, call, completeLogin, login as apiLogin, pollPhoneLogin, session} from "../api.js";
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
    if (answer && answer.second_factor_required && (answer.methods || []).includes("phone")) phoneStep(ctx, section, answer);
    else if (answer && answer.second_factor_required) secondStep(ctx, section, answer.pending_token);
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

const PHONE_POLL_MS = 1500;

// The login's second step with the trusted phone: the number to type on the phone, large, and a status line
// (a polite live region) while the page asks every 1.5 s whether the phone decided; approved: logged in;
// denied or 2 minutes gone: said, with a way to start again. With TOTP on too, a button switches to the code.
function phoneStep(ctx, section, answer) {
  let stopped = false;
  const status = h("p", {id: "phone-approval-status", role: "status", "aria-live": "polite"}, t("phone_waiting"));
  const again = h("p", {}, h("a", {href: "/app/login", id: "phone-start-again"}, t("start_again")));
  const parts = [h("h1", {id: "phone-approval-title"}, t("phone_approval_title")),
    h("p", {}, t("phone_approval_intro")),
    h("p", {class: "approval-number", id: "approval-number", "aria-label": t("phone_number_label", {number: answer.number})},
      answer.number),
    h("p", {}, t("phone_approval_check")), status];
  if ((answer.methods || []).includes("totp")) {
    const other = h("button", {type: "button", class: "link", id: "phone-use-code"}, t("phone_use_code"));
    other.addEventListener("click", () => { stopped = true; secondStep(ctx, section, answer.pending_token); });
    parts.push(h("p", {}, other));
  }
  parts.push(again);
  section.replaceChildren(...parts);
  section.querySelector("h1").setAttribute("tabindex", "-1");
  section.querySelector("h1").focus();
  const finish = (key) => {
    stopped = true;
    status.textContent = t(key);
    status.className = "notice error";
    again.querySelector("a").focus();
  };
  const poll = async () => {
    if (stopped || !section.isConnected) return;
    try {
      const got = await pollPhoneLogin(answer.pending_token);
      if (stopped) return;
      if (got && got.access_token) { stopped = true; ctx.afterLogin(); return; }
    } catch (error) {
      if (!(error instanceof ApiError) || error.status === 0 || error.status >= 500) {
        setTimeout(poll, PHONE_POLL_MS * 2);  // the network or the server hiccuped: keep waiting
        return;
      }
      finish(error.status === 403 ? "phone_denied" : "phone_expired");
      return;
    }
    setTimeout(poll, PHONE_POLL_MS);
  };
  setTimeout(poll, PHONE_POLL_MS);
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
