// The REST API, as every frontend uses it: JSON over fetch, bearer access token, rotating refresh token.
// Tokens live in sessionStorage (this tab only); the server keeps no web session.
import {lang} from "./i18n.js";

export const BASE = "/api/v1";
// sessionStorage: the company whose second-factor policy sent the person to set one up (main.js, pages/account.js)
export const SECOND_FACTOR_SETUP = "kadra.second-factor-setup";
const ACCESS = "kadra.access";
const REFRESH = "kadra.refresh";
const BUSY_AFTER_MS = 250;

export const session = {
  get access() { return sessionStorage.getItem(ACCESS); },
  get refresh() { return sessionStorage.getItem(REFRESH); },
  get loggedIn() { return Boolean(sessionStorage.getItem(ACCESS) || sessionStorage.getItem(REFRESH)); },
  store(pair) {
    if (pair.access_token) sessionStorage.setItem(ACCESS, pair.access_token);
    if (pair.refresh_token) sessionStorage.setItem(REFRESH, pair.refresh_token);
  },
  clear() {
    sessionStorage.removeItem(ACCESS);
    sessionStorage.removeItem(REFRESH);
  },
};

export class ApiError extends Error {
  constructor(status, problem) {
    super((problem && problem.detail) || `HTTP ${status}`);
    this.status = status;
    this.problem = problem || {};
  }
  get errors() { return this.problem.errors || []; }
}

// A slow call shows the working indicator (#busy, a polite live region) until every call has ended.
let pending = 0;
let busyTimer = null;
function busy(delta) {
  pending += delta;
  const el = document.getElementById("busy");
  if (!el) return;
  if (pending > 0 && !busyTimer && el.hidden) {
    busyTimer = setTimeout(() => { busyTimer = null; if (pending > 0) { el.hidden = false; document.body.setAttribute("aria-busy", "true"); } }, BUSY_AFTER_MS);
  }
  if (pending <= 0) {
    pending = 0;
    clearTimeout(busyTimer);
    busyTimer = null;
    el.hidden = true;
    document.body.removeAttribute("aria-busy");
  }
}

async function send(method, path, body, token) {
  const headers = {"Accept": "application/json", "Accept-Language": lang()};
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (token) headers["Authorization"] = `Bearer ${token}`;
  let response;
  try {
    response = await fetch(BASE + path, {method, headers, body: body === undefined ? undefined : JSON.stringify(body),
                                         credentials: "omit", cache: "no-store"});
  } catch (e) {
    throw new ApiError(0, {code: "network", detail: "Cannot reach the server. Try again.",
                           detail_pl: "Brak połączenia z serwerem. Spróbuj ponownie."});
  }
  const text = await response.text();
  let data = null;
  if (text) {
    try { data = JSON.parse(text); } catch (e) { data = null; }
  }
  return {response, data};
}

let refreshing = null;
async function refreshTokens() {
  // One refresh at a time: the refresh token rotates, and a spent one ends the session family.
  if (!refreshing) {
    refreshing = (async () => {
      const token = session.refresh;
      if (!token) return false;
      const {response, data} = await send("POST", "/auth/refresh", {refresh_token: token});
      if (response.ok && data && data.access_token) { session.store(data); return true; }
      session.clear();
      return false;
    })().finally(() => { refreshing = null; });
  }
  return refreshing;
}

export const events = new EventTarget();

// call("GET", "/me") -> the JSON answer (null for 204); throws ApiError with the problem+json body.
export async function call(method, path, body, {auth = true} = {}) {
  busy(+1);
  try {
    let token = auth ? session.access : null;
    if (auth && !token && session.refresh) {
      await refreshTokens();
      token = session.access;
    }
    let {response, data} = await send(method, path, body, token);
    if (response.status === 401 && auth && session.refresh) {
      if (await refreshTokens()) ({response, data} = await send(method, path, body, session.access));
    }
    if (response.status === 401 && auth && token) {
      session.clear();
      events.dispatchEvent(new Event("logged-out"));
    }
    if (response.status === 403 && data && data.code === "second_factor_setup_required") {
      // The company requires a second factor the person has not set up: the app takes them to set it up.
      events.dispatchEvent(new CustomEvent("second-factor-required", {detail: data}));
    }
    if (!response.ok) throw new ApiError(response.status, data);
    return data;
  } finally {
    busy(-1);
  }
}

// A right password answers the token pair, or (with a second factor on) a pending login: nothing is stored
// then, and the page asks for the code (completeLogin).
export async function login(email, password) {
  const pair = await call("POST", "/auth/login", {email, password}, {auth: false});
  if (!pair.second_factor_required) session.store(pair);
  return pair;
}

// The login's second step: the pending login and {code} or {recovery_code}.
export async function completeLogin(pendingToken, codes) {
  const pair = await call("POST", "/auth/login/second-factor", {pending_token: pendingToken, ...codes}, {auth: false});
  session.store(pair);
  return pair;
}

// A login waiting for the trusted phone: 202 {status: "waiting", number, expires_in} until the phone decides,
// then the token pair (stored here) once; 403 denied, 410 expired (thrown as ApiError).
export async function pollPhoneLogin(pendingToken) {
  const answer = await call("POST", "/auth/login/second-factor", {pending_token: pendingToken, method: "phone"},
                            {auth: false});
  if (answer && answer.access_token) session.store(answer);
  return answer;
}

export async function logout() {
  const refresh = session.refresh;
  try {
    if (session.access) await call("POST", "/auth/logout", refresh ? {refresh_token: refresh} : {});
  } catch (e) {
    // the session ends here whatever the server answered
  }
  session.clear();
}
