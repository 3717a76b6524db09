/** How the bench's tables and charts write their numbers. */
export const fmtInt = (n: number) => Math.round(n).toLocaleString("en-US");
export const fmtMs = (n: number) => (n >= 100 ? n.toFixed(0) : n.toFixed(1));
export const fmtS = (ms: number) => (ms / 1000).toFixed(2);
export const fmtUsd = (n: number) => `$${n >= 10 ? n.toFixed(2) : n.toFixed(3)}`;
export const fmtRatio = (n: number) => (Number.isFinite(n) ? `${n >= 100 ? n.toFixed(0) : n.toFixed(2)}×` : "–");
export const mark = (ok: boolean) => (ok ? "met" : "**NOT met**");
export const escapeXml = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
