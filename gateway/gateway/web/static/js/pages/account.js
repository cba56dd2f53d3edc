// My account: full name and language, change of e-mail (= login, with the password), change of password,
// two-step login (TOTP), approving logins in the mobile app (the trusted phone).
import {ApiError, call, SECOND_FACTOR_SETUP as SETUP} from "../api.js";
import {formatDate, lang, setLang, t} from "../i18n.js";
import {field, h, notice, setFieldError, submitting} from "../ui.js";
import {passwordPair, samePasswords} from "./auth.js";

function section(id, title, ...children) {
  return h("section", {class: "card", id, "aria-labelledby": `${id}-title`}, h("h2", {id: `${id}-title`}, title), ...children);
}

function form(id, submitLabel, onsubmit, ...fields) {
  const f = h("form", {novalidate: true, id}, ...fields,
    h("div", {class: "buttons"}, h("button", {type: "submit", class: "primary"}, submitLabel)));
  f.addEventListener("submit", (event) => { event.preventDefault(); onsubmit(f); });
  return f;
}

function missing(f, names) {
  const empty = names.filter((n) => !f.elements[n].value.trim());
  empty.forEach((n) => setFieldError(f, n, t("required")));
  if (empty.length) f.elements[empty[0]].focus();
  return empty.length > 0;
}

export async function render(ctx) {
  const {me, main} = ctx;
  main.append(h("h1", {}, t("account")));

  const localeId = "f-locale";
  const profile = form("profile-form", t("save"), async (f) => {
    if (missing(f, ["full_name"])) return;
    const body = {full_name: f.elements.full_name.value.trim(), locale: f.elements.locale.value};
    const answer = await submitting(f, async () => (await call("PATCH", "/me", body)) || true);
    if (!answer) return;
    if (body.locale !== lang()) { setLang(body.locale); ctx.rerender(); return; }
    notice(profileBox, t("profile_saved"));
  },
  field({name: "full_name", label: t("full_name"), value: me.full_name || "", autocomplete: "name", required: true, maxlength: 200}),
  h("div", {class: "field", "data-field": "locale"},
    h("label", {for: localeId}, t("language")),
    h("select", {id: localeId, name: "locale"},
      h("option", {value: "pl", selected: (me.locale || "pl") === "pl"}, t("lang_pl")),
      h("option", {value: "en", selected: me.locale === "en"}, t("lang_en"))),
    h("p", {class: "error", hidden: true, role: "alert"})));
  const profileBox = section("profile", t("account_profile"), profile);

  const emailForm = form("email-form", t("email_change_button"), async (f) => {
    if (missing(f, ["new_email", "password"])) return;
    const newEmail = f.elements.new_email.value.trim();
    const ok = await submitting(f, async () => {
      await call("POST", "/me/email", {new_email: newEmail, password: f.elements.password.value});
      return true;
    });
    if (ok) { f.reset(); notice(emailBox, t("email_change_sent", {email: newEmail})); }
  },
  field({name: "new_email", label: t("new_email"), type: "email", autocomplete: "email", required: true}),
  field({name: "password", label: t("confirm_with_password"), type: "password", autocomplete: "current-password", required: true}));
  const emailBox = section("email", t("account_email"), h("p", {id: "current-email"}, t("current_email", {email: me.email})), emailForm);

  const passwordForm = form("password-form", t("password_change_button"), async (f) => {
    if (missing(f, ["current_password", "new_password", "repeat_password"]) || !samePasswords(f)) return;
    const ok = await submitting(f, async () => {
      await call("POST", "/auth/password/change", {current_password: f.elements.current_password.value,
                                                   new_password: f.elements.new_password.value});
      return true;
    });
    if (ok) { f.reset(); notice(passwordBox, t("password_changed")); }
  },
  field({name: "current_password", label: t("current_password"), type: "password", autocomplete: "current-password", required: true}),
  ...passwordPair());
  const passwordBox = section("password", t("account_password"), passwordForm);

  const factorBox = section("second-factor", t("second_factor_title"));
  const phoneBox = section("phone-factor", t("phone_factor_title"));
  main.append(profileBox, emailBox, passwordBox, factorBox, phoneBox);
  await drawSecondFactor(factorBox);
  await drawPhoneFactor(phoneBox);
  if (location.hash === "#email") emailForm.elements.new_email.focus();
  // Sent by a company's policy: straight to the explanation (the page is long; keyboard users start there).
  const asked = document.getElementById("second-factor-required");
  if (asked) asked.focus();
}

// Two-step login (TOTP): set it up (a QR code drawn by the gateway as SVG, the secret as text for typing in,
// then a code to confirm), the recovery codes shown once, and turning it off (password + a code).
async function drawSecondFactor(box, message) {
  const title = box.querySelector("h2");
  const status = await call("GET", "/me/second-factor");
  box.replaceChildren(title);
  if (message) notice(box, message);
  policyNote(box, status.totp);
  if (status.totp) {
    box.append(h("p", {id: "second-factor-status"}, t("second_factor_on", {since: formatDate(status.enabled_at),
                                                                           left: status.recovery_codes_left})));
    const off = form("second-factor-off", t("second_factor_disable"), async (f) => {
      if (missing(f, ["password"])) return;
      const body = {password: f.elements.password.value};
      const code = f.elements.code.value.trim();
      const recovery = f.elements.recovery_code.value.trim();
      if (code) body.code = code;
      if (recovery) body.recovery_code = recovery;
      const ok = await submitting(f, async () => { await call("POST", "/me/second-factor/totp/disable", body); return true; });
      if (ok) await drawSecondFactor(box, t("second_factor_disabled"));
    },
    field({name: "password", label: t("confirm_with_password"), type: "password", autocomplete: "current-password", required: true}),
    field({name: "code", label: t("totp_code"), autocomplete: "one-time-code", inputmode: "numeric", maxlength: 8}),
    field({name: "recovery_code", label: t("recovery_code_or"), autocomplete: "off", maxlength: 64}));
    box.append(off);
    return;
  }
  box.append(h("p", {id: "second-factor-status"}, t("second_factor_off")));
  const start = h("button", {type: "button", class: "primary", id: "second-factor-start"}, t("second_factor_start"));
  start.addEventListener("click", async () => {
    const begun = await call("POST", "/me/second-factor/totp");
    const qr = h("img", {id: "totp-qr", class: "qr", width: 200, height: 200, alt: t("totp_qr_alt"),
                         src: `data:image/svg+xml;base64,${btoa(begun.qr_svg)}`});
    const confirm = form("second-factor-confirm", t("second_factor_confirm"), async (f) => {
      if (missing(f, ["code"])) return;
      const answer = await submitting(f, async () => call("POST", "/me/second-factor/totp/confirm",
                                                            {code: f.elements.code.value.trim()}));
      if (answer) showRecoveryCodes(box, answer.recovery_codes);
    },
    field({name: "code", label: t("totp_code"), autocomplete: "one-time-code", inputmode: "numeric", required: true,
           maxlength: 8, hint: t("totp_code_hint")}));
    box.replaceChildren(title, h("ol", {class: "steps"},
      h("li", {}, t("totp_step_app")),
      h("li", {}, t("totp_step_scan"), h("div", {}, qr),
        h("p", {}, t("totp_manual"), " ", h("code", {id: "totp-secret"}, begun.secret))),
      h("li", {}, t("totp_step_code"))), confirm);
    confirm.elements.code.focus();
  });
  box.append(h("p", {}, t("second_factor_explain")), h("div", {class: "buttons"}, start));
}

// Sent here by a company's policy (main.js): say which company asks, and once the factor is on, the way back.
function policyNote(box, on) {
  let asked = null;
  try { asked = JSON.parse(sessionStorage.getItem(SETUP) || "null"); } catch (e) { asked = null; }
  if (!asked) return;
  const company = asked.company_name || "";
  if (!on) {
    box.append(h("p", {class: "notice error", role: "alert", id: "second-factor-required", tabindex: "-1"},
                 t("policy_required_here", {company})));
    return;
  }
  sessionStorage.removeItem(SETUP);
  if (asked.company_id) localStorage.setItem("kadra.company", asked.company_id);
  box.append(h("p", {class: "notice ok", id: "second-factor-required-met"}, t("policy_met", {company}), " ",
               h("a", {href: "/app/", id: "second-factor-continue"}, t("policy_continue", {company}))));
}

function showRecoveryCodes(box, codes) {
  const title = box.querySelector("h2");
  const done = h("button", {type: "button", class: "primary", id: "recovery-codes-done"}, t("recovery_codes_saved"));
  done.addEventListener("click", () => drawSecondFactor(box, t("second_factor_enabled")));
  const intro = h("p", {class: "notice ok", role: "status", id: "recovery-intro", tabindex: "-1"}, t("recovery_codes_once"));
  box.replaceChildren(title, intro,
    h("ol", {id: "recovery-codes", class: "recovery-codes"}, ...codes.map((c) => h("li", {}, h("code", {}, c)))),
    h("div", {class: "buttons"}, done));
  intro.focus();
}

// Approving web logins on the trusted phone: on with the password (and TOTP's code when TOTP is on) while a
// phone is activated; off with the password and TOTP's code, or else the phone's own approval: the number is
// shown here and the page asks every 1.5 s until the phone decides.
async function drawPhoneFactor(box, message, kind = "ok") {
  const title = box.querySelector("h2");
  const [status, devices] = await Promise.all([call("GET", "/me/second-factor"), call("GET", "/me/devices")]);
  box.replaceChildren(title);
  if (message) notice(box, message, kind);
  const codeField = () => field({name: "code", label: t("totp_code_if_on"), autocomplete: "one-time-code",
                                 inputmode: "numeric", maxlength: 8});
  const password = () => field({name: "password", label: t("confirm_with_password"), type: "password",
                                autocomplete: "current-password", required: true});
  const body = (f) => {
    const b = {password: f.elements.password.value};
    if (f.elements.code && f.elements.code.value.trim()) b.code = f.elements.code.value.trim();
    return b;
  };
  if (status.phone) {
    box.append(h("p", {id: "phone-factor-status"}, t("phone_factor_on", {since: formatDate(status.phone_enabled_at)})));
    const off = form("phone-factor-off", t("phone_factor_disable"), async (f) => {
      if (missing(f, ["password"])) return;
      const answer = await submitting(f, async () => (await call("POST", "/me/second-factor/phone/disable", body(f))) || {});
      if (!answer) return;
      if (answer.status === "waiting") waitForPhone(box, answer);
      else await drawPhoneFactor(box, t("phone_factor_disabled"));
    }, password(), ...(status.totp ? [codeField()] : []));
    box.append(off);
    return;
  }
  box.append(h("p", {id: "phone-factor-status"}, t("phone_factor_off")));
  if (!devices.length) {
    box.append(h("p", {id: "phone-factor-needs-device"}, t("phone_factor_needs_device")));
    return;
  }
  const on = form("phone-factor-on", t("phone_factor_enable"), async (f) => {
    if (missing(f, ["password"])) return;
    const ok = await submitting(f, async () => { await call("POST", "/me/second-factor/phone", body(f)); return true; });
    if (ok) await drawPhoneFactor(box, t("phone_factor_enabled"));
  }, password(), ...(status.totp ? [codeField()] : []));
  box.append(on);
}

function waitForPhone(box, answer) {
  const title = box.querySelector("h2");
  const status = h("p", {id: "phone-off-status", role: "status", "aria-live": "polite"}, t("phone_waiting"));
  box.replaceChildren(title, h("p", {}, t("phone_factor_confirm_off")),
    h("p", {class: "approval-number", id: "phone-off-number"}, answer.number), status);
  const poll = async () => {
    if (!box.isConnected) return;
    try {
      const got = await call("POST", "/me/second-factor/phone/disable", {pending_token: answer.pending_token});
      if (got && got.status === "done") { await drawPhoneFactor(box, t("phone_factor_disabled")); return; }
    } catch (error) {
      if (error instanceof ApiError && error.status > 0 && error.status < 500) {
        await drawPhoneFactor(box, t(error.status === 403 ? "phone_denied" : "phone_expired"), "error");
        return;
      }
    }
    setTimeout(poll, 1500);
  };
  setTimeout(poll, 1500);
}
