/**
 * The operator dashboard (hosting/public/index.html): an administrator signs in, and the page
 * draws the fleet's `cacheStats` every few seconds. cacheStats is reached through the Hosting
 * rewrite `/cacheStats` (firebase.json), so the page and the function share an origin, locally
 * as in production, and the function needs no CORS. Only an ID token with the `admin: true`
 * claim is answered; anyone else sees the refusal.
 */
import { initializeApp } from "firebase/app";
import { connectAuthEmulator, getAuth, onAuthStateChanged, signInWithEmailAndPassword, signOut, User } from "firebase/auth";
import type { FleetView } from "../../functions/src/telemetry/fleet-view";
import { errorMessage } from "../../functions/src/error-message";
import { firebaseSetup } from "./firebase-setup";
import { fleetSections } from "./view";

const refreshIntervalMs = 10_000;

function byId<T extends HTMLElement>(id: string): T {
  const element = document.getElementById(id);
  if (!element) throw new Error(`#${id} is missing from index.html`);
  return element as T;
}

const signInForm = byId<HTMLFormElement>("sign-in");
const signedIn = byId("signed-in");
const who = byId("who");
const status = byId("status");
const figures = byId("figures");
const updated = byId("updated");

/** One line under the header: what the page is doing, or why it shows nothing. */
function showStatus(message: string, kind: "info" | "error" | "refused" = "info"): void {
  status.textContent = message;
  status.className = kind;
  status.hidden = message === "";
}

type StatsAnswer = { kind: "view"; view: FleetView } | { kind: "refused" | "error"; message: string };

async function fetchStats(user: User): Promise<StatsAnswer> {
  const response = await fetch("/cacheStats", { headers: { authorization: `Bearer ${await user.getIdToken()}` }, cache: "no-store" });
  if (response.ok) return { kind: "view", view: (await response.json()) as FleetView };
  const error = ((await response.json().catch(() => ({}))) as { error?: string }).error ?? response.statusText;
  if (response.status === 403) {
    return {
      kind: "refused",
      message: `Refused: ${user.email ?? user.uid} is not an administrator (cacheStats answered 403: ${error}). Sign in as a user with the admin: true claim.`,
    };
  }
  return { kind: "error", message: `cacheStats answered ${response.status}: ${error}` };
}

async function main(): Promise<void> {
  const setup = await firebaseSetup();
  const auth = getAuth(initializeApp(setup.config));
  if (setup.authEmulatorUrl) {
    connectAuthEmulator(auth, setup.authEmulatorUrl, { disableWarnings: true });
    byId("where").textContent = `${setup.config.projectId ?? ""} on the local emulators (Auth at ${setup.authEmulatorUrl})`;
    byId("demo-hint").hidden = false;
  } else {
    byId("where").textContent = setup.config.projectId ?? "";
  }

  let timer: number | undefined;
  const refresh = async (user: User) => {
    window.clearTimeout(timer);
    try {
      const answer = await fetchStats(user);
      if (auth.currentUser !== user) return;
      if (answer.kind === "view") {
        figures.replaceChildren(...fleetSections(answer.view));
        updated.textContent = `updated ${new Date().toLocaleTimeString()}`;
        showStatus("");
      } else {
        figures.replaceChildren();
        updated.textContent = "";
        showStatus(answer.message, answer.kind);
        // A refusal stands until someone else signs in.
        if (answer.kind === "refused") return;
      }
    } catch (error) {
      showStatus(`cacheStats could not be read: ${errorMessage(error)}`, "error");
    }
    timer = window.setTimeout(() => void refresh(user), refreshIntervalMs);
  };

  onAuthStateChanged(auth, (user) => {
    window.clearTimeout(timer);
    figures.replaceChildren();
    updated.textContent = "";
    signInForm.hidden = user !== null;
    signedIn.hidden = user === null;
    who.textContent = user?.email ?? user?.uid ?? "";
    if (user) {
      showStatus("Reading cacheStats ...");
      void refresh(user);
    } else {
      showStatus("");
    }
  });

  signInForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const data = new FormData(signInForm);
    showStatus("Signing in ...");
    signInWithEmailAndPassword(auth, String(data.get("email")), String(data.get("password"))).catch((error: unknown) =>
      showStatus(`Sign-in failed: ${errorMessage(error)}`, "error"),
    );
  });
  byId("sign-out").addEventListener("click", () => void signOut(auth));
  byId("refresh").addEventListener("click", () => auth.currentUser && void refresh(auth.currentUser));
}

main().catch((error: unknown) => showStatus(`The dashboard could not start: ${errorMessage(error)}`, "error"));
