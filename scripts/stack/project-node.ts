/**
 * Every npm script runs the Node major that production runs: functions/package.json's
 * `engines.node`, the same as firebase.json's runtime (checked by `npm run deploy:check`).
 * The project installs that Node itself (the `node` devDependency, as node_modules/.bin/node),
 * and npm puts node_modules/.bin first on PATH for its scripts.
 */
import { readFileSync } from "node:fs";
import path from "node:path";

const functionsPackage = path.join(__dirname, "..", "..", "functions", "package.json");

/** `24` for engines.node "24". */
export function productionNodeMajor(): number {
  const engines = (JSON.parse(readFileSync(functionsPackage, "utf8")) as { engines?: { node?: string } }).engines;
  const major = Number(/^\D*(\d+)/.exec(engines?.node ?? "")?.[1]);
  if (!Number.isInteger(major)) throw new Error(`functions/package.json has no engines.node major: ${JSON.stringify(engines)}`);
  return major;
}

/** Throws, with the command to run, when this process is not on the production Node major. */
export function requireProductionNode(): void {
  const wanted = productionNodeMajor();
  const running = Number(process.versions.node.split(".")[0]);
  if (running !== wanted) {
    throw new Error(
      `this is Node ${process.versions.node}, production runs Node ${wanted}: run the project's scripts through npm ` +
        "(`npm start`, `npm test`, `npm run bench`), which use the Node that `npm install` put in node_modules/.bin; " +
        "if that is missing, run `npm install` first",
    );
  }
}
