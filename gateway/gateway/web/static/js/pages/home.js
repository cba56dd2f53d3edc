// The start page after logging in: who you are, which company, and the way to its settings.
import {roleLabel, t} from "../i18n.js";
import {h} from "../ui.js";

export async function render(ctx) {
  const {me, company} = ctx;
  const section = h("section", {class: "card"}, h("h1", {}, t("home_title", {name: me.full_name || me.email})));
  if (!company) {
    section.append(h("p", {}, t("no_company")));
  } else {
    section.append(
      h("p", {id: "home-company"}, t("home_company", {company: company.name, role: roleLabel(ctx.roles, company.role)})),
      h("ul", {class: "tiles"},
        h("li", {}, h("a", {href: "/app/settings"}, t("settings"))),
        h("li", {}, h("a", {href: "/app/mobile"}, t("mobile"))),
        ctx.can("audit.read") ? h("li", {}, h("a", {href: "/app/audit"}, t("audit"))) : null,
        h("li", {}, h("a", {href: "/app/account"}, t("account")))));
  }
  ctx.main.append(section);
}
