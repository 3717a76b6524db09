/**
 * The shape of functions/src, drawn from its own imports: no module imports itself through
 * others (a circle cannot be understood, tested or replaced alone), and the cache engine
 * depends on nothing above it. ESLint's floor rule refuses imports upwards between folders;
 * this also catches a circle inside one folder.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import ts from "typescript";
import { repoRoot } from "../scripts/stack/emulator-config";

const sourceRoot = path.join(repoRoot, "functions", "src");

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const full = path.join(dir, entry);
    return statSync(full).isDirectory() ? sourceFiles(full) : full.endsWith(".ts") ? [full] : [];
  });
}

/** Each file's relative imports, as files under functions/src (type-only imports included: they tie the modules too). */
function importGraph(): Map<string, string[]> {
  const files = new Set(sourceFiles(sourceRoot));
  const resolve = (from: string, name: string) => {
    const base = path.resolve(path.dirname(from), name);
    return [`${base}.ts`, path.join(base, "index.ts")].find((candidate) => files.has(candidate)) ?? base;
  };
  const graph = new Map<string, string[]>();
  for (const file of files) {
    const { importedFiles } = ts.preProcessFile(readFileSync(file, "utf8"), true, true);
    graph.set(
      file,
      importedFiles.filter(({ fileName }) => fileName.startsWith(".")).map(({ fileName }) => resolve(file, fileName)),
    );
  }
  return graph;
}

/** Every circle, as the files on it (one per strongly connected group of two or more, or a file importing itself). */
function circles(graph: Map<string, string[]>): string[][] {
  // Tarjan's strongly connected components.
  let index = 0;
  const indexOf = new Map<string, number>();
  const lowOf = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (file: string) => {
    indexOf.set(file, index);
    lowOf.set(file, index++);
    stack.push(file);
    onStack.add(file);
    for (const next of graph.get(file) ?? []) {
      if (!graph.has(next)) continue;
      if (!indexOf.has(next)) {
        visit(next);
        lowOf.set(file, Math.min(lowOf.get(file)!, lowOf.get(next)!));
      } else if (onStack.has(next)) lowOf.set(file, Math.min(lowOf.get(file)!, indexOf.get(next)!));
    }
    if (lowOf.get(file) !== indexOf.get(file)) return;
    const group: string[] = [];
    for (let member = stack.pop()!; ; member = stack.pop()!) {
      onStack.delete(member);
      group.push(member);
      if (member === file) break;
    }
    if (group.length > 1 || (graph.get(file) ?? []).includes(file)) found.push(group.map((f) => path.relative(sourceRoot, f)).sort());
  };
  for (const file of graph.keys()) if (!indexOf.has(file)) visit(file);
  return found;
}

describe("functions/src's imports", () => {
  const graph = importGraph();

  it("form no circle", () => {
    assert.ok(graph.size > 40, `read ${graph.size} files`);
    assert.deepEqual(circles(graph), []);
  });

  it("finds a circle when there is one (the check itself)", () => {
    const a = path.join(sourceRoot, "a.ts");
    const b = path.join(sourceRoot, "b.ts");
    const c = path.join(sourceRoot, "c.ts");
    assert.deepEqual(
      circles(
        new Map([
          [a, [b]],
          [b, [c]],
          [c, [a]],
        ]),
      ),
      [["a.ts", "b.ts", "c.ts"]],
    );
  });

  it("leave the cache engine depending on nothing above it: no telemetry, feature or command-purpose module", () => {
    const upward = [...graph]
      .filter(([file]) => path.relative(sourceRoot, file).startsWith(`cache${path.sep}`))
      .flatMap(([file, targets]) => targets.map((target) => [path.relative(sourceRoot, file), path.relative(sourceRoot, target)] as const))
      .filter(([, target]) => /^(telemetry|instance|credits|apps|notifications|stripe|users)\//.test(target) || target === "redis/command-purposes.ts");
    assert.deepEqual(upward, []);
  });
});
