// TypeScript's own answer for bench/navigation.py: the language service's findReferences
// (the compiler's binder and checker, JavaScript read with allowJs) at each asked place.
// Usage: node bench/ts_references.js ROOT < queries.json > answers.json
//   queries: [{"path": "lib/x.js", "line": 12, "column": 9}]  (line 1-based, column 0-based)
//   answers: [{"refs": [["lib/y.js", 40, 7], …]}]  the references, definitions left out,
//   each with the column it starts at (to tell a call: what follows is "(").
// Needs `npm install typescript` where node finds it (NODE_PATH).
const fs = require("fs");
const path = require("path");
const ts = require("typescript");

const root = path.resolve(process.argv[2]);
const files = [];
(function walk(dir) {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory() && entry.name !== "node_modules" && !entry.name.startsWith(".")) {
      walk(full);
    } else if (/\.(js|mjs|cjs|ts|tsx)$/.test(entry.name) && !entry.name.endsWith(".d.ts")) {
      files.push(full);
    }
  }
})(root);

const options = { allowJs: true, checkJs: false, target: ts.ScriptTarget.ES2020,
                  module: ts.ModuleKind.CommonJS, moduleResolution: ts.ModuleResolutionKind.Node10,
                  noEmit: true };
const service = ts.createLanguageService({
  getScriptFileNames: () => files,
  getScriptVersion: () => "1",
  getScriptSnapshot: (f) => fs.existsSync(f) ? ts.ScriptSnapshot.fromString(
    fs.readFileSync(f, "utf8")) : undefined,
  getCurrentDirectory: () => root,
  getCompilationSettings: () => options,
  getDefaultLibFileName: ts.getDefaultLibFilePath,
  fileExists: ts.sys.fileExists,
  readFile: ts.sys.readFile,
  readDirectory: ts.sys.readDirectory,
}, ts.createDocumentRegistry());

const queries = JSON.parse(fs.readFileSync(0, "utf8"));
const answers = queries.map((q) => {
  const file = path.join(root, q.path);
  const source = service.getProgram().getSourceFile(file);
  if (!source) return { refs: [] };
  const at = ts.getPositionOfLineAndCharacter(source, q.line - 1, q.column);
  const refs = [];
  for (const symbol of service.findReferences(file, at) || []) {
    for (const ref of symbol.references) {
      if (ref.isDefinition || !ref.fileName.startsWith(root)) continue;
      const other = service.getProgram().getSourceFile(ref.fileName);
      const where = ts.getLineAndCharacterOfPosition(other, ref.textSpan.start);
      refs.push([path.relative(root, ref.fileName), where.line + 1, where.character]);
    }
  }
  return { refs };
});
process.stdout.write(JSON.stringify(answers));
