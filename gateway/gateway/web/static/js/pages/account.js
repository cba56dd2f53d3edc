// My account: full name and language, change of e-mail (= login, with the password), change of password.
import {call} from "../api.js";
import {lang, setLang, t} from "../i18n.js";
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

  main.append(profileBox, emailBox, passwordBox);
  if (location.hash === "#email") emailForm.elements.new_email.focus();
}
