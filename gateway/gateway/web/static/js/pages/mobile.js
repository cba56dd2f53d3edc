// "Aplikacja mobilna": the guide's steps to install and activate the app (with the store links this
// installation sets: /app/config.json), and the trusted device (name, platform, activated, last used,
// biometrics, blocked) with remove and unblock.
import {call} from "../api.js";
import {formatDate, lang, problemText, t} from "../i18n.js";
import {confirmDialog, field, h, notice, table} from "../ui.js";

const PLATFORMS = {android: "Android", ios: "iOS"};

// The installation's store links (null when not set: no link is drawn). A page that cannot read them
// draws none rather than fail.
async function storeLinks() {
  try {
    const response = await fetch("/app/config.json", {headers: {Accept: "application/json"}});
    return response.ok ? await response.json() : {};
  } catch (error) {
    return {};
  }
}

function storesBox(config) {
  const links = [
    config.play_store_url && h("a", {href: config.play_store_url, class: "store", id: "store-play",
                                     rel: "noopener noreferrer"}, t("store_play")),
    config.app_store_url && h("a", {href: config.app_store_url, class: "store", id: "store-apple",
                                    rel: "noopener noreferrer"}, t("store_apple")),
  ].filter(Boolean);
  if (!links.length) return null;
  return h("nav", {class: "stores", id: "store-links", "aria-label": t("mobile_stores")},
    h("ul", {}, links.map((link) => h("li", {}, link))));
}

export async function render(ctx) {
  const {main} = ctx;
  const config = await storeLinks();
  main.append(h("h1", {}, t("mobile")));
  const email = ctx.me && ctx.me.email;
  main.append(h("section", {class: "card guide", "aria-labelledby": "mobile-howto"},
    h("h2", {id: "mobile-howto", class: "visually-hidden"}, t("mobile")),
    h("p", {}, t("mobile_intro")),
    h("p", {}, t("mobile_use")),
    h("ol", {class: "steps"},
      h("li", {}, t("mobile_step1")), h("li", {}, t("mobile_step2")),
      h("li", {}, t("mobile_step3")), h("li", {}, t("mobile_step4"))),
    storesBox(config),
    h("p", {class: "congrats"}, t("mobile_done")),
    h("p", {}, t("mobile_change")),
    h("p", {id: "mobile-replace"}, t("mobile_replace")),
    h("p", {class: "note"}, h("strong", {}, t("mobile_note"))),
    h("div", {class: "forgot", id: "mobile-forgot"},
      h("p", {}, h("strong", {}, t("mobile_forgot_title"))),
      h("p", {id: "forgot-email"}, `${t("mobile_forgot_email")} `,
        h("a", {href: "/app/settings#users"}, t("mobile_forgot_email_place")), ".",
        email ? ` ${t("mobile_forgot_email_yours", {email})}` : null),
      h("p", {id: "forgot-password"}, `${t("mobile_forgot")} `,
        h("a", {href: "/app/forgot-password"}, t("forgot_link")), "."))));

  const box = h("section", {class: "card", id: "devices", "aria-labelledby": "devices-title"},
    h("h2", {id: "devices-title", tabindex: "-1"}, t("trusted")));
  const list = h("div", {id: "device-list"});
  box.append(list);
  main.append(box);
  const heading = box.querySelector("h2");

  async function reload() {
    let devices;
    try {
      devices = await call("GET", "/me/devices");
    } catch (error) {
      list.replaceChildren(h("p", {class: "form-error", role: "alert"}, problemText(error.problem) || t("network_error")));
      return;
    }
    if (!devices.length) {
      list.replaceChildren(h("p", {id: "no-device"}, t("no_device")));
      return;
    }
    list.replaceChildren(...devices.map(drawDevice));
  }

  function drawDevice(device) {
    const yesNo = (v) => (v ? t("yes") : t("no"));
    const rows = [
      [t("d_name"), device.name],
      [t("d_platform"), PLATFORMS[device.platform] || device.platform],
      [t("d_activated"), formatDate(device.activated_at)],
      [t("d_last_used"), formatDate(device.last_used_at)],
      [t("d_biometrics"), yesNo(device.biometrics)],
      [t("d_blocked"), device.blocked ? `${t("yes")}${device.blocked_at ? ` (${formatDate(device.blocked_at)})` : ""}` : t("no")],
    ];
    const buttons = h("div", {class: "buttons"});
    if (device.blocked) {
      buttons.append(h("button", {type: "button", class: "primary", id: "unblock-device", dataset: {key: "unblock"},
                                  onclick: () => unblock(device)}, t("d_unblock")));
    }
    buttons.append(h("button", {type: "button", class: "danger", id: "remove-device", dataset: {key: "remove-device"},
                                onclick: () => remove(device)}, t("d_remove")));
    return h("div", {class: "device", dataset: {device: device.device_id}},
      h("dl", {class: "facts"}, rows.map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]).flat()),
      buttons);
  }

  function remove(device) {
    confirmDialog({
      title: t("d_remove_title", {name: device.name}), text: t("d_remove_text"), danger: true,
      confirmLabel: t("d_remove"), fallback: () => heading,
      action: async () => {
        await call("DELETE", `/me/devices/${device.device_id}`);
        await reload();
        notice(box, t("d_removed"));
      },
    });
  }

  function unblock(device) {
    confirmDialog({
      title: t("d_unblock_title", {name: device.name}), text: t("d_unblock_text"), confirmLabel: t("d_unblock"),
      fallback: () => heading,
      extra: () => field({name: "password", label: t("confirm_with_password"), type: "password",
                          autocomplete: "current-password", required: true}),
      action: async (form) => {
        await call("POST", `/me/devices/${device.device_id}/unblock`, {password: form.elements.password.value});
        await reload();
        notice(box, t("d_unblocked"));
      },
    });
  }

  void lang;
  await reload();
}
