#!/usr/bin/env node
// Offline Solidity compiler frontend over the npm `solc` package (solcjs, WebAssembly).
//
// It answers the subset of native solc's command line that py-solc-x and ape-solidity use:
//   solc --version                      -> native-format version text
//   solc --standard-json [--base-path P] [--include-path P]... [--allow-paths A,B] < input.json
//                                       -> standard-JSON output, and nothing else, on stdout
// Imports are read from disk relative to --base-path, each --include-path, the working
// directory and the project's node_modules; a missing import comes back as solc's own JSON
// error naming the path. Why it exists: native solc binaries cannot be downloaded on the
// offline build machines; users with internet keep using native solc through py-solc-x.
"use strict";

const fs = require("fs");
const path = require("path");

const PROJECT_ROOT = path.resolve(__dirname, "..", "..");
const SOLC_MODULE = path.join(PROJECT_ROOT, "node_modules", "solc");

function die(message, code = 1) {
  process.stderr.write(`Error: ${message}\n`);
  process.exit(code);
}

function parseArgs(argv) {
  const opts = { mode: null, basePath: null, includePaths: [], allowPaths: [], unknown: [] };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const [flag, inlineValue] = arg.startsWith("--") && arg.includes("=") ? arg.split(/=(.*)/s) : [arg, undefined];
    const takeValue = () => {
      if (inlineValue !== undefined) return inlineValue;
      if (i + 1 >= argv.length) die(`option ${flag} needs a value`);
      return argv[++i];
    };
    switch (flag) {
      case "--version":
      case "-v":
        opts.mode = "version";
        break;
      case "--standard-json":
        opts.mode = "standard-json";
        break;
      case "--help":
      case "-h":
        opts.mode = "help";
        break;
      case "--base-path":
        opts.basePath = takeValue();
        break;
      case "--include-path":
        opts.includePaths.push(takeValue());
        break;
      case "--allow-paths":
        opts.allowPaths.push(...takeValue().split(",").filter(Boolean));
        break;
      case "-":
        break;
      default:
        opts.unknown.push(arg);
    }
  }
  return opts;
}

function loadSolc() {
  try {
    return require(SOLC_MODULE);
  } catch (err) {
    die(`cannot load the npm 'solc' package from ${SOLC_MODULE} (run 'npm ci'): ${err.message}`);
  }
}

function versionText(solc) {
  return `solc, the solidity compiler commandline interface\nVersion: ${solc.version()}\n`;
}

function importResolver(opts) {
  const roots = [];
  const add = (p) => {
    if (p && !roots.includes(path.resolve(p))) roots.push(path.resolve(p));
  };
  add(opts.basePath);
  opts.includePaths.forEach(add);
  add(process.cwd());
  add(path.join(PROJECT_ROOT, "node_modules"));
  add(PROJECT_ROOT);
  return function findImport(importPath) {
    const candidates = path.isAbsolute(importPath)
      ? [importPath]
      : roots.map((root) => path.join(root, importPath));
    for (const candidate of candidates) {
      try {
        return { contents: fs.readFileSync(candidate, "utf8") };
      } catch (_err) {
        // try the next root
      }
    }
    return { error: `File not found: ${importPath} (searched: ${roots.join(", ")})` };
  };
}

function readStdin() {
  try {
    return fs.readFileSync(0, "utf8");
  } catch (err) {
    die(`cannot read standard input: ${err.message}`);
  }
}

function errorOutput(message) {
  // The shape native solc uses when the input itself cannot be processed.
  return JSON.stringify({
    errors: [
      {
        component: "general",
        formattedMessage: message,
        message,
        severity: "error",
        type: "JSONError",
      },
    ],
  });
}

function main() {
  const opts = parseArgs(process.argv.slice(2));
  if (opts.mode === "help") {
    process.stdout.write(
      "Offline solc frontend (solcjs). Supports: --version, --standard-json " +
        "[--base-path P] [--include-path P] [--allow-paths A,B]\n",
    );
    return;
  }
  if (opts.unknown.length > 0) {
    die(`unsupported option(s) for the offline solc frontend: ${opts.unknown.join(" ")}`);
  }
  const solc = loadSolc();
  if (opts.mode === "version") {
    process.stdout.write(versionText(solc));
    return;
  }
  if (opts.mode !== "standard-json") {
    die("only --version and --standard-json are supported by the offline solc frontend");
  }
  const input = readStdin();
  try {
    JSON.parse(input);
  } catch (err) {
    process.stdout.write(errorOutput(`Input is not valid JSON: ${err.message}`) + "\n");
    return;
  }
  // solcjs prints diagnostics through console.log in some code paths; stdout must carry only
  // the JSON, so route anything else to stderr while compiling.
  const log = console.log;
  console.log = (...args) => process.stderr.write(args.join(" ") + "\n");
  let output;
  try {
    output = solc.compile(input, { import: importResolver(opts) });
  } finally {
    console.log = log;
  }
  process.stdout.write(output + "\n");
}

main();
