// The test app: ForgeRock's JavaScript SDK configured from the page URL's query, and one function per
// SDK call on window.app. Every function resolves to {ok: true, value} or {ok: false, error}, so a
// test gets a JSON-able answer from page.evaluate whatever the SDK did.
//
// Query parameters: baseUrl (the mock's base URL), timeout (ms), realmPath, tree, clientId,
// redirectUri (default: /callback.html on this origin, which the mock's sdkPublicClient registers), scope.
import * as forgerock from "@forgerock/javascript-sdk";

const { CallbackType, Config, FRAuth, FRUser, StepType, TokenManager, UserManager } = forgerock;

function settingsFromQuery() {
  const q = new URLSearchParams(window.location.search);
  let baseUrl = q.get("baseUrl") || "";
  if (baseUrl && !baseUrl.endsWith("/")) baseUrl += "/"; // the SDK resolves paths against a directory
  return {
    serverConfig: { baseUrl, timeout: Number(q.get("timeout") || 5000) },
    realmPath: q.get("realmPath") || "root",
    tree: q.get("tree") || "Login",
    clientId: q.get("clientId") || "",
    redirectUri: q.get("redirectUri") || new URL("/callback.html", window.location.href).href,
    scope: q.get("scope") || "openid profile",
  };
}

function plain(value) {
  return value === undefined ? null : JSON.parse(JSON.stringify(value));
}

function failure(e) {
  if (e instanceof Error) return { name: e.name, message: e.message };
  if (e && typeof e === "object") return plain(e);
  return { name: "Error", message: String(e) };
}

async function attempt(fn) {
  try {
    return { ok: true, value: plain(await fn()) };
  } catch (e) {
    return { ok: false, error: failure(e) };
  }
}

function describeStep(step) {
  if (step.type === StepType.LoginSuccess) {
    return { type: step.type, tokenId: step.getSessionToken(), successUrl: step.getSuccessUrl(), realm: step.getRealm() };
  }
  if (step.type === StepType.LoginFailure) {
    return { type: step.type, code: step.getCode(), reason: step.getReason(), message: step.getMessage() };
  }
  return { type: step.type, callbacks: step.callbacks.map((cb) => cb.getType()), payload: step.payload };
}

let settings = settingsFromQuery();

window.app = {
  /** The SDK's exported names, to check what loaded. */
  exports: Object.keys(forgerock).sort(),

  /** Config.set with the query's settings, overridden by `overrides`; returns what was set. */
  configure(overrides = {}) {
    settings = { ...settings, ...overrides, serverConfig: { ...settings.serverConfig, ...(overrides.serverConfig || {}) } };
    return attempt(() => {
      Config.set(settings);
      return settings;
    });
  },

  /** One FRAuth.next: the first step, or the step before it (its payload) with callbacks filled. */
  next(previousPayload = null, answers = {}) {
    return attempt(async () => {
      let previous;
      if (previousPayload) {
        previous = new forgerock.FRStep(previousPayload);
        fill(previous, answers);
      }
      return describeStep(await FRAuth.next(previous, { tree: settings.tree }));
    });
  },

  /** FRAuth.next until success or failure, answering Name and Password callbacks. */
  login(username, password, maxSteps = 5) {
    return attempt(async () => {
      const steps = [];
      let step = await FRAuth.next(undefined, { tree: settings.tree });
      for (let i = 0; i < maxSteps && step.type === StepType.Step; i++) {
        steps.push(describeStep(step));
        fill(step, { username, password });
        step = await FRAuth.next(step, { tree: settings.tree });
      }
      return { ...describeStep(step), steps };
    });
  },

  /** TokenManager.getTokens, by default {forceRenew: true}. */
  getTokens(options = { forceRenew: true }) {
    return attempt(() => TokenManager.getTokens(options));
  },

  /** UserManager.getCurrentUser (the userinfo answer). */
  getCurrentUser() {
    return attempt(() => UserManager.getCurrentUser());
  },

  /** FRUser.logout (sessions logout, revoke, endSession). */
  logout(options = undefined) {
    return attempt(() => FRUser.logout(options));
  },
};

function fill(step, { username, password }) {
  for (const cb of step.getCallbacksOfType(CallbackType.NameCallback)) cb.setName(username);
  for (const cb of step.getCallbacksOfType(CallbackType.PasswordCallback)) cb.setPassword(password);
}

Config.set(settings);
document.getElementById("status").textContent = "ready";
