// Validates an AsyncAPI document with the AsyncAPI parser (the one AsyncAPI's own tools use).
// Usage: node validate.mjs [FILE]   (no FILE, or "-": the document is read from standard input)
// Prints every diagnostic (severity, rule, path, message); exits 1 if any is an error, 2 if the input cannot be
// read, 0 otherwise (warnings, information and hints are printed but do not fail).
import { readFileSync } from "node:fs";
import { Parser, DiagnosticSeverity } from "@asyncapi/parser";

const SEVERITY = {
  [DiagnosticSeverity.Error]: "error",
  [DiagnosticSeverity.Warning]: "warning",
  [DiagnosticSeverity.Information]: "information",
  [DiagnosticSeverity.Hint]: "hint",
};

function readInput(path) {
  return readFileSync(path === undefined || path === "-" ? 0 : path, "utf8");
}

async function main() {
  let text;
  try {
    text = readInput(process.argv[2]);
  } catch (error) {
    console.error(`cannot read ${process.argv[2] ?? "standard input"}: ${error.message}`);
    return 2;
  }
  const { document, diagnostics } = await new Parser().parse(text);
  let errors = 0;
  for (const diagnostic of diagnostics) {
    const severity = SEVERITY[diagnostic.severity] ?? String(diagnostic.severity);
    if (diagnostic.severity === DiagnosticSeverity.Error) errors += 1;
    const path = (diagnostic.path ?? []).join("/");
    console.log(`${severity} ${diagnostic.code} at /${path}: ${diagnostic.message}`);
  }
  if (document === undefined || errors > 0) {
    console.log(`invalid: ${errors} error(s), ${diagnostics.length - errors} other diagnostic(s)`);
    return 1;
  }
  const version = document.version();
  console.log(`valid AsyncAPI ${version}: ${diagnostics.length} diagnostic(s), none an error`);
  return 0;
}

process.exitCode = await main();
