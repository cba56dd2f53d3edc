// "Dane i ustawienia": the company's name, registration and contact data, and the Users section of the
// guide (the table, "Dodaj użytkownika", role changes, removal, pending invitations, ownership transfer).
// What the person's role may not do is not offered (the API refuses it as well).
import {call} from "../api.js";
import {formatDate, lang, roleDescription, roleLabel, t} from "../i18n.js";
import {checkNip} from "../nip.js";
import {confirmDialog, field, h, nextId, notice, openDialog, setFieldError, submitting, table} from "../ui.js";

// The guide's order of the roles offered in "Dodaj użytkownika".
const ASSIGNABLE = ["employee", "manager", "warehouse"];

export async function render(ctx) {
  const {main, company} = ctx;
  main.append(h("h1", {}, t("settings")));
  if (!company) {
    main.append(h("p", {}, t("no_company")));
    return;
  }
  const usersOpen = location.hash === "#users" || !ctx.can("company.settings");
  const companyDetails = h("details", {class: "section", id: "company-section", open: location.hash !== "#users"},
    h("summary", {}, t("company_section")));
  const usersDetails = h("details", {class: "section", id: "users-section", open: usersOpen || null},
    h("summary", {}, t("users_section")));
  main.append(companyDetails, usersDetails);
  await Promise.all([companySection(ctx, companyDetails), usersSection(ctx, usersDetails)]);
}

// ---- Nazwa, dane rejestrowe i kontaktowe

async function companySection(ctx, details) {
  const body = h("div", {class: "section-body"});
  details.append(body);
  let data;
  try {
    data = await call("GET", `/companies/${ctx.company.company_id}`);
  } catch (error) {
    body.append(h("p", {class: "form-error", role: "alert"}, error.problem ? (lang() === "en" ? error.problem.detail : error.problem.detail_pl) : t("network_error")));
    return;
  }
  const editable = ctx.can("company.settings");
  const address = data.address || {};
  const nipStatus = h("p", {class: "hint ok", id: nextId("nip-status"), "aria-live": "polite"});
  const nipField = field({name: "nip", label: t("c_nip"), value: data.nip || "", inputmode: "numeric", maxlength: 20,
                          readonly: !editable});
  const nipInput = nipField.querySelector("input");
  nipInput.setAttribute("aria-describedby", `${nipInput.getAttribute("aria-describedby")} ${nipStatus.id}`);
  nipField.append(nipStatus);

  const form = h("form", {novalidate: true, id: "company-form"},
    h("fieldset", {disabled: !editable || null},
      h("legend", {class: "visually-hidden"}, t("company_section")),
      field({name: "name", label: t("c_name"), value: data.name || "", required: true, maxlength: 200, autocomplete: "organization"}),
      nipField,
      field({name: "regon", label: t("c_regon"), value: data.regon || "", inputmode: "numeric", maxlength: 20}),
      field({name: "address.street", label: t("c_street"), value: address.street || "", autocomplete: "street-address", maxlength: 200}),
      h("div", {class: "row"},
        field({name: "address.postal_code", label: t("c_postal"), value: address.postal_code || "", autocomplete: "postal-code", maxlength: 6}),
        field({name: "address.city", label: t("c_city"), value: address.city || "", autocomplete: "address-level2", maxlength: 100})),
      field({name: "contact_email", label: t("c_email"), type: "email", value: data.contact_email || "", autocomplete: "email"}),
      field({name: "contact_phone", label: t("c_phone"), type: "tel", value: data.contact_phone || "", autocomplete: "tel", maxlength: 30}),
      editable ? h("div", {class: "buttons"}, h("button", {type: "submit", class: "primary", id: "company-save"}, t("save"))) : null));
  if (!editable) body.append(h("p", {class: "hint", id: "company-readonly"}, t("c_readonly")));
  body.append(form, policySection(ctx, data));

  // The NIP is checked as it is typed: wrong characters, too many digits and the checksum at once;
  // too few digits when the person leaves the field.
  const checkTyped = (final) => {
    const result = checkNip(nipInput.value);
    let message = "";
    if (result.problem === "chars") message = t("nip_chars");
    else if (result.problem === "length") message = t("nip_length");
    else if (result.problem === "checksum") message = t("nip_checksum");
    else if (result.problem === "partial" && final) message = t("nip_length");
    setFieldError(form, "nip", message);
    nipStatus.textContent = result.ok ? t("nip_ok") : "";
    return result.ok || result.problem === "empty";
  };
  nipInput.addEventListener("input", () => checkTyped(false));
  nipInput.addEventListener("blur", () => checkTyped(true));
  if (nipInput.value) checkTyped(false);

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!editable) return;
    const value = (name) => form.elements[name].value.trim();
    const patch = {};
    const set = (key, v, old) => { if ((v || null) !== (old || null)) patch[key] = v || null; };
    if (value("name") !== data.name) patch.name = value("name");
    set("nip", value("nip"), data.nip);
    set("regon", value("regon"), data.regon);
    set("contact_email", value("contact_email"), data.contact_email);
    set("contact_phone", value("contact_phone"), data.contact_phone);
    const street = value("address.street"), postal = value("address.postal_code"), city = value("address.city");
    const newAddress = street || postal || city ? {street, postal_code: postal, city, country: address.country || "PL"} : null;
    if (JSON.stringify(newAddress) !== JSON.stringify(data.address ? {street: address.street, postal_code: address.postal_code, city: address.city, country: address.country || "PL"} : null)) {
      patch.address = newAddress;
    }
    const ok = await submitting(form, async () => {
      if (!value("name")) { setFieldError(form, "name", t("required")); form.elements.name.focus(); return false; }
      if (!checkTyped(true)) { form.elements.nip.focus(); return false; }
      if (newAddress && !(street && postal && city)) {
        for (const [n, v] of [["address.street", street], ["address.postal_code", postal], ["address.city", city]]) {
          if (!v) setFieldError(form, n, t("address_incomplete"));
        }
        return false;
      }
      if (newAddress && !/^[0-9]{2}-[0-9]{3}$/.test(postal)) {
        setFieldError(form, "address.postal_code", t("postal_format"));
        form.elements["address.postal_code"].focus();
        return false;
      }
      if (!Object.keys(patch).length) return true;
      data = await call("PATCH", `/companies/${ctx.company.company_id}`, patch);
      return true;
    });
    if (ok) notice(body, t("c_saved"));
  });
}

// ---- the company policy: two-step login for every user (the owner sets it; everyone sees it)

function policySection(ctx, data) {
  const box = h("section", {class: "policy", id: "policy", "aria-labelledby": "policy-title"},
    h("h2", {id: "policy-title"}, t("policy_title")));
  const state = () => h("p", {id: "policy-state"}, data.second_factor_required ? t("policy_on") : t("policy_off"));
  if (ctx.company.role !== "owner") {
    box.append(state());
    return box;
  }
  const id = nextId("policy-required");
  const checkbox = h("input", {type: "checkbox", id, name: "required", checked: Boolean(data.second_factor_required),
                               "aria-describedby": `${id}-hint ${id}-error`});
  const form = h("form", {novalidate: true, id: "policy-form"},
    h("div", {class: "field checkbox", "data-field": "required"},
      checkbox, " ", h("label", {for: id}, t("policy_label")),
      h("p", {class: "hint", id: `${id}-hint`}, t("policy_hint")),
      h("p", {class: "error", id: `${id}-error`, hidden: true, role: "alert"})),
    h("div", {class: "buttons"}, h("button", {type: "submit", class: "primary", id: "policy-save"}, t("save"))));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const required = checkbox.checked;
    const answer = await submitting(form, () => call("PUT", `/companies/${ctx.company.company_id}/second-factor-policy`,
                                                    {required}), {second_factor: "required"});
    if (!answer) return;
    data.second_factor_required = answer.required;
    notice(box, answer.required ? t("policy_saved_on") : t("policy_saved_off"));
  });
  box.append(form);
  return box;
}

// ---- Użytkownicy

function rowRoleLabel(ctx, row) {
  return (lang() === "en" ? row.role_label_en : row.role_label_pl) || roleLabel(ctx.roles, row.role);
}

function roleChoice(ctx, {name, checked, allowed}) {
  // "Rola:" — exactly one role, each with its "Pokaż opis roli".
  const legendId = nextId("role-legend");
  const fieldset = h("fieldset", {class: "roles", "aria-labelledby": legendId},
    h("legend", {id: legendId}, t("role")));
  for (const role of ASSIGNABLE.filter((r) => allowed(r))) {
    const id = nextId(`role-${role}`);
    const descId = `${id}-desc`;
    const toggle = h("button", {type: "button", class: "link show-role", "aria-expanded": "false", "aria-controls": descId,
                                dataset: {role}}, t("show_role"));
    const description = h("p", {class: "role-description", id: descId, hidden: true}, roleDescription(ctx.roles, role));
    toggle.addEventListener("click", () => {
      const open = toggle.getAttribute("aria-expanded") !== "true";
      toggle.setAttribute("aria-expanded", String(open));
      toggle.textContent = open ? t("hide_role") : t("show_role");
      description.hidden = !open;
    });
    fieldset.append(h("div", {class: "role-option"},
      h("input", {type: "radio", name, value: role, id, checked: role === checked}),
      h("label", {for: id}, roleLabel(ctx.roles, role)), " ", toggle, description));
  }
  return h("div", {class: "field", "data-field": name}, fieldset,
    h("p", {class: "error", id: nextId("role-error"), hidden: true, role: "alert"}));
}

async function usersSection(ctx, details) {
  const cid = ctx.company.company_id;
  const body = h("div", {class: "section-body"});
  const heading = h("h2", {id: "users-heading", tabindex: "-1"}, t("users_heading"));
  const assignable = ASSIGNABLE.filter((r) => ctx.manages(r));
  const canManage = ctx.can("users.manage") && assignable.length > 0;
  const addButton = canManage
    ? h("button", {type: "button", class: "primary", id: "add-user", dataset: {key: "add-user"}}, t("add_user")) : null;
  const membersBox = h("div", {id: "members"});
  const pendingBox = h("div", {id: "pending"});
  body.append(h("div", {class: "section-head"}, heading, addButton), membersBox, pendingBox,
              canManage ? h("p", {class: "roles-hint", id: "roles-hint"}, t("users_roles_hint")) : null,
              h("p", {class: "remember"}, t("users_remember")));
  details.append(body);
  const focusHeading = () => heading;

  async function reload() {
    let rows, invitations;
    if (!ctx.can("users.read")) {
      // A role without users.read sees only its own row: where the guide says to find one's e-mail (login).
      drawMembers([{no: 1, account_id: ctx.me.account_id, full_name: ctx.me.full_name, email: ctx.me.email,
                    role: ctx.company.role, status: "active"}]);
      return;
    }
    try {
      [rows, invitations] = await Promise.all([
        call("GET", `/companies/${cid}/users`),
        ctx.can("users.read") ? call("GET", `/companies/${cid}/invitations`) : Promise.resolve([]),
      ]);
    } catch (error) {
      membersBox.replaceChildren(h("p", {class: "form-error", role: "alert"},
        error.status === 403 ? t("no_access") : t("network_error")));
      return;
    }
    drawMembers(rows.filter((r) => r.status !== "invited"));
    drawPending(invitations);
  }

  function drawMembers(rows) {
    const trs = rows.map((row, index) => {
      const me = row.account_id === ctx.me.account_id;
      const name = row.full_name || row.email;
      const options = [];
      if (me) {
        options.push(h("a", {href: "/app/account#email", class: "option"}, t("change_email_option")));
      } else if (row.role !== "owner") {
        if (canManage && ctx.manages(row.role)) {
          options.push(h("button", {type: "button", class: "link option", dataset: {key: `role-${row.account_id}`},
                                    "aria-label": `${t("change_role")}: ${name}`,
                                    onclick: () => changeRole(row)}, t("change_role")));
          options.push(h("button", {type: "button", class: "link option danger", dataset: {key: `remove-${row.account_id}`},
                                    "aria-label": `${t("remove_user")}: ${name}`,
                                    onclick: () => removeUser(row)}, t("remove_user")));
        }
        if (ctx.can("ownership.transfer")) {
          options.push(h("button", {type: "button", class: "link option", dataset: {key: `transfer-${row.account_id}`},
                                    "aria-label": `${t("transfer")}: ${name}`,
                                    onclick: () => transfer(row)}, t("transfer")));
        }
      }
      return h("tr", {dataset: {account: row.account_id || "", email: row.email || ""}},
        h("td", {}, `${row.no || index + 1}.`),
        h("td", {}, row.full_name || "", me ? h("span", {class: "you"}, ` ${t("you")}`) : null),
        h("td", {}, row.email || ""),
        h("td", {class: "role-cell"}, rowRoleLabel(ctx, row)),
        h("td", {class: `second-factor-cell${row.second_factor === false ? " off" : ""}`},
          row.second_factor === true ? t("second_factor_yes") : row.second_factor === false ? t("second_factor_no") : ""),
        h("td", {class: "options"}, options));
    });
    membersBox.replaceChildren(table({
      className: "users", caption: null,
      columns: [t("col_no"), t("col_name"), t("col_email"), t("col_role"), t("col_second_factor"), t("col_options")],
      rows: trs}));
    membersBox.querySelector("table").setAttribute("aria-labelledby", "users-heading");
  }

  function drawPending(invitations) {
    if (!ctx.can("users.read")) { pendingBox.replaceChildren(); return; }
    const heading2 = h("h3", {id: "pending-heading"}, t("pending_heading"));
    if (!invitations.length) {
      pendingBox.replaceChildren(heading2, h("p", {class: "hint"}, t("no_pending")));
      return;
    }
    const trs = invitations.map((inv) => {
      const status = (inv.delivery && inv.delivery.status) || "unknown";
      const statusText = t(`delivery_${status}`) === `delivery_${status}` ? status : t(`delivery_${status}`);
      const options = [];
      if (canManage && ctx.manages(inv.role)) {
        options.push(h("button", {type: "button", class: "link option", dataset: {key: `resend-${inv.invitation_id}`},
                                  "aria-label": `${t("resend")}: ${inv.email}`, onclick: (e) => resend(inv, e.currentTarget)}, t("resend")));
        options.push(h("button", {type: "button", class: "link option danger", dataset: {key: `revoke-${inv.invitation_id}`},
                                  "aria-label": `${t("revoke")}: ${inv.email}`, onclick: () => revoke(inv)}, t("revoke")));
      }
      return h("tr", {dataset: {invitation: inv.invitation_id, email: inv.email}},
        h("td", {}, inv.email),
        h("td", {}, roleLabel(ctx.roles, inv.role)),
        h("td", {}, inv.expired ? t("expired") : formatDate(inv.expires_at)),
        h("td", {class: `delivery delivery-${status}`},
          statusText, inv.delivery && inv.delivery.last_error && status !== "sent" ? h("span", {class: "hint"}, ` (${inv.delivery.last_error})`) : null),
        h("td", {class: "options"}, options));
    });
    const tbl = table({className: "pending", columns: [t("col_email"), t("col_role"), t("col_expires"), t("col_delivery"), t("col_options")], rows: trs});
    tbl.setAttribute("aria-labelledby", "pending-heading");
    pendingBox.replaceChildren(heading2, tbl);
  }

  function addUser() {
    openDialog({
      title: t("add_user_title", {company: ctx.company.name}), fallback: focusHeading, className: "add-user",
      build: (close) => {
        const form = h("form", {novalidate: true, id: "add-user-form"},
          field({name: "email", label: t("add_email"), type: "email", autocomplete: "off", required: true}),
          h("p", {class: "hint roles-hint"}, t("users_roles_hint_short")),
          roleChoice(ctx, {name: "role", checked: assignable.includes("employee") ? "employee" : assignable[0], allowed: (r) => ctx.manages(r)}),
          h("div", {class: "buttons"},
            h("button", {type: "button", class: "secondary", onclick: close}, t("cancel")),
            h("button", {type: "submit", class: "primary"}, t("save"))));
        form.addEventListener("submit", async (event) => {
          event.preventDefault();
          const email = form.elements.email.value.trim();
          const role = (form.querySelector("input[name=role]:checked") || {}).value;
          if (!email) { setFieldError(form, "email", t("required")); form.elements.email.focus(); return; }
          if (!role) { setFieldError(form, "role", t("required")); return; }
          const ok = await submitting(form, async () => {
            await call("POST", `/companies/${cid}/users`, {email, role});
            await reload();
            return true;
          });
          if (ok) { close(); notice(body, t("invited_sent", {email})); }
        });
        return form;
      },
    });
  }

  function changeRole(row) {
    const name = row.full_name || row.email;
    openDialog({
      title: t("change_role_title", {name}), fallback: focusHeading, className: "change-role",
      build: (close) => {
        const form = h("form", {novalidate: true, id: "change-role-form"},
          roleChoice(ctx, {name: "role", checked: row.role, allowed: (r) => ctx.manages(r)}),
          h("div", {class: "buttons"},
            h("button", {type: "button", class: "secondary", onclick: close}, t("cancel")),
            h("button", {type: "submit", class: "primary"}, t("save"))));
        form.addEventListener("submit", async (event) => {
          event.preventDefault();
          const role = (form.querySelector("input[name=role]:checked") || {}).value;
          if (role === row.role) { close(); return; }
          const ok = await submitting(form, async () => {
            await call("PATCH", `/companies/${cid}/users/${row.account_id}`, {role});
            await reload();
            return true;
          });
          if (ok) { close(); notice(body, t("role_changed", {name, role: roleLabel(ctx.roles, role)})); }
        });
        return form;
      },
    });
  }

  function removeUser(row) {
    const name = row.full_name || row.email;
    confirmDialog({
      title: t("remove_user_title", {name}), danger: true, confirmLabel: t("remove_confirm"), fallback: focusHeading,
      text: t("remove_user_text", {name, email: row.email, company: ctx.company.name}),
      action: async () => {
        await call("DELETE", `/companies/${cid}/users/${row.account_id}`);
        await reload();
        notice(body, t("user_removed", {name}));
      },
    });
  }

  function transfer(row) {
    const name = row.full_name || row.email;
    confirmDialog({
      title: t("transfer_title", {name}), confirmLabel: t("transfer_confirm"), fallback: focusHeading,
      text: t("transfer_text", {name}),
      action: async () => {
        await call("POST", `/companies/${cid}/ownership/transfer`, {account_id: row.account_id});
        notice(body, t("transfer_sent", {name}));
      },
    });
  }

  async function resend(inv, button) {
    button.disabled = true;
    try {
      await call("POST", `/companies/${cid}/invitations/${inv.invitation_id}/resend`);
      await reload();
      notice(body, t("resent", {email: inv.email}));
    } catch (error) {
      notice(body, error.problem ? (lang() === "en" ? error.problem.detail : error.problem.detail_pl) : t("network_error"), "error");
    } finally {
      button.disabled = false;
      const twin = document.querySelector(`[data-key="resend-${CSS.escape(inv.invitation_id)}"]`);
      if (twin) twin.focus();
    }
  }

  function revoke(inv) {
    confirmDialog({
      title: t("revoke_title", {email: inv.email}), danger: true, confirmLabel: t("revoke"), fallback: focusHeading,
      text: t("revoke_text"),
      action: async () => {
        await call("DELETE", `/companies/${cid}/invitations/${inv.invitation_id}`);
        await reload();
        notice(body, t("revoked", {email: inv.email}));
      },
    });
  }

  if (addButton) addButton.addEventListener("click", addUser);
  await reload();
}
