/** Test data and reads for the apps path: app and tester documents, and what an instance serves. */
import { appsCollection, testersCollection } from "../../functions/src/apps/model";
import { firestore } from "../../functions/src/firestore";
import type { CallAs, Instance } from "../../scripts/harness/instance";

export const appDoc = (id: string) => firestore().collection(appsCollection).doc(id);
export const testerDoc = (uid: string) => firestore().collection(testersCollection).doc(uid);

/** An admin caller (custom claim `admin: true`) named after the spec. */
export const adminAs = (name: string): CallAs => ({ uid: `${name}-admin`, claims: { admin: true } });

/** Writes `apps/{id}` as an operator would: public unless `private`, approved or under review. */
export async function createApp(id: string, fields: { uid: string; private?: boolean; approved: boolean; status?: string; disabled?: boolean }): Promise<void> {
  await appDoc(id).set({
    id,
    name: `App ${id}`,
    private: false,
    status: fields.approved ? "approved" : "under-review",
    disabled: false,
    category: "productivity",
    description: "demo",
    image: "https://example.com/app.png",
    capabilities: ["chat"],
    created_at: new Date("2026-01-02T03:04:05Z"),
    ...fields,
  });
}

/** The ids `instance` serves to `uid` among `among` (other specs' apps are in the public list too), sorted. */
export async function servedIds(instance: Instance, uid: string, among: readonly string[]): Promise<string[]> {
  const { apps } = await instance.call<{ apps: { id: string }[] }>("getAvailableApps", {}, { uid });
  return apps
    .map((app) => app.id)
    .filter((id) => among.includes(id))
    .sort();
}
