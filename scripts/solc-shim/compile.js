// Standard-JSON front end over npm's solc (solcjs), used by ./solc.
//
//   node compile.js INPUT OUTPUT [--base-path P] [--include-path P]...   compile (see below)
//   node compile.js - OUTPUT --version-only                              write solc.version()
//   node compile.js --worker INPUT OUTPUT [paths...]                     one slice, no splitting
//
// Files instead of pipes because solcjs's own CLI breaks on forge's pipes: it reads stdin
// synchronously (EAGAIN on a non-blocking pipe) and calls process.exit, which truncates piped
// stdout at 64 KiB. The --base-path / --include-path arguments resolve imports that forge did not
// inline (it normally sends every source with its content).
//
// solcjs is single-threaded and slow (via_ir code generation dominates), so the requested
// contracts are split by source file into up to SOLC_SHIM_JOBS slices (default: the CPU count, at
// most MAX_JOBS) compiled by parallel worker processes. Each worker analyses every source but
// generates code only for its slice (solc skips contracts outside outputSelection); the outputs
// are merged back into one standard-JSON result. SOLC_SHIM_JOBS=1 compiles in-process.
"use strict";

const childProcess = require("child_process");
const fs = require("fs");
const os = require("os");
const path = require("path");

/** Upper bound on parallel workers (each holds a full compiler in memory). */
const MAX_JOBS = 4;

function parseRoots(argv) {
  const roots = [];
  for (let i = 0; i < argv.length; i += 1) {
    const flag = argv[i];
    if (flag === "--base-path" || flag === "--include-path") {
      roots.push(argv[i + 1]);
      i += 1;
    }
  }
  return roots.length > 0 ? roots : [process.cwd()];
}

function importCallback(roots) {
  return (sourcePath) => {
    const candidates = path.isAbsolute(sourcePath)
      ? [sourcePath]
      : roots.map((root) => path.join(root, sourcePath));
    for (const candidate of candidates) {
      if (fs.existsSync(candidate)) {
        return { contents: fs.readFileSync(candidate, "utf8") };
      }
    }
    return { error: `File not found: ${sourcePath}` };
  };
}

function compileInProcess(inputText, pathArgs) {
  // Loaded lazily: the 10 MB compiler is only needed where code is compiled
  const solc = require("solc");
  return solc.compile(inputText, { import: importCallback(parseRoots(pathArgs)) });
}

function jobCount() {
  const requested = Number.parseInt(process.env.SOLC_SHIM_JOBS || "", 10);
  if (Number.isInteger(requested) && requested >= 1) {
    return requested;
  }
  return Math.min(MAX_JOBS, Math.max(1, os.cpus().length));
}

/**
 * Splits outputSelection into `jobs` selections, whole source files per slice, balanced by source
 * size. File-level outputs ("" key, e.g. the AST) all go to slice 0. Returns null when splitting
 * would not help (one job, one file, or a selection shape this code does not handle).
 */
function splitSelection(input, jobs) {
  const selection = input.settings && input.settings.outputSelection;
  if (jobs < 2 || !selection || typeof selection !== "object") {
    return null;
  }
  const wildcard = selection["*"];
  const files = Object.keys(input.sources || {}).filter(
    (file) => selection[file] !== undefined || wildcard !== undefined,
  );
  const contractSelections = [];
  const fileLevel = {};
  for (const file of files) {
    const perFile = { ...(wildcard || {}), ...(selection[file] || {}) };
    if (perFile[""] !== undefined) {
      fileLevel[file] = { "": perFile[""] };
    }
    const contracts = Object.fromEntries(Object.entries(perFile).filter(([name]) => name !== ""));
    if (Object.keys(contracts).length > 0) {
      const source = input.sources[file];
      const size = source && typeof source.content === "string" ? source.content.length : 1;
      contractSelections.push({ file, contracts, size });
    }
  }
  if (contractSelections.length < 2) {
    return null;
  }
  const slices = Array.from({ length: Math.min(jobs, contractSelections.length) }, () => ({
    selection: {},
    size: 0,
  }));
  contractSelections.sort((a, b) => b.size - a.size);
  for (const entry of contractSelections) {
    const lightest = slices.reduce((best, slice) => (slice.size < best.size ? slice : best));
    lightest.selection[entry.file] = entry.contracts;
    lightest.size += entry.size;
  }
  for (const [file, outputs] of Object.entries(fileLevel)) {
    slices[0].selection[file] = { ...(slices[0].selection[file] || {}), ...outputs };
  }
  return slices.map((slice) => slice.selection);
}

function runWorker(workDir, index, input, selection, pathArgs) {
  const sliceInput = path.join(workDir, `slice-${index}.json`);
  const sliceOutput = path.join(workDir, `slice-${index}.out.json`);
  const sliceJson = { ...input, settings: { ...input.settings, outputSelection: selection } };
  fs.writeFileSync(sliceInput, JSON.stringify(sliceJson));
  return new Promise((resolve, reject) => {
    const child = childProcess.spawn(
      process.execPath,
      [__filename, "--worker", sliceInput, sliceOutput, ...pathArgs],
      { stdio: ["ignore", "ignore", "inherit"] },
    );
    child.on("error", reject);
    child.on("exit", (code, signal) => {
      if (code === 0) {
        resolve(JSON.parse(fs.readFileSync(sliceOutput, "utf8")));
      } else {
        reject(new Error(`solc shim worker ${index} failed (exit ${code}, signal ${signal})`));
      }
    });
  });
}

/** Merges slice outputs: contracts by file, sources from slice 0, errors without duplicates. */
function mergeOutputs(outputs) {
  const merged = { contracts: {}, sources: {}, errors: [] };
  const seenErrors = new Set();
  outputs.forEach((output, index) => {
    for (const [file, contracts] of Object.entries(output.contracts || {})) {
      merged.contracts[file] = { ...(merged.contracts[file] || {}), ...contracts };
    }
    for (const [file, source] of Object.entries(output.sources || {})) {
      if (index === 0 || merged.sources[file] === undefined) {
        merged.sources[file] = { ...(merged.sources[file] || {}), ...source };
      }
    }
    for (const error of output.errors || []) {
      const key = JSON.stringify([error.severity, error.formattedMessage || error.message]);
      if (!seenErrors.has(key)) {
        seenErrors.add(key);
        merged.errors.push(error);
      }
    }
  });
  if (merged.errors.length === 0) {
    delete merged.errors;
  }
  return merged;
}

async function compileSplit(inputText, pathArgs, workDir) {
  let input;
  try {
    input = JSON.parse(inputText);
  } catch {
    return compileInProcess(inputText, pathArgs);
  }
  const selections = splitSelection(input, jobCount());
  if (selections === null) {
    return compileInProcess(inputText, pathArgs);
  }
  const outputs = await Promise.all(
    selections.map((selection, index) => runWorker(workDir, index, input, selection, pathArgs)),
  );
  return JSON.stringify(mergeOutputs(outputs));
}

async function main(argv) {
  if (argv[0] === "--worker") {
    const [, inputPath, outputPath, ...pathArgs] = argv;
    fs.writeFileSync(outputPath, compileInProcess(fs.readFileSync(inputPath, "utf8"), pathArgs));
    return;
  }
  const [inputPath, outputPath, ...pathArgs] = argv;
  if (pathArgs[0] === "--version-only") {
    fs.writeFileSync(outputPath, require("solc").version());
    return;
  }
  const inputText = fs.readFileSync(inputPath, "utf8");
  const output = await compileSplit(inputText, pathArgs, path.dirname(outputPath));
  fs.writeFileSync(outputPath, output);
}

main(process.argv.slice(2)).catch((error) => {
  process.stderr.write(`solc shim: ${error.message}\n`);
  process.exitCode = 1;
});
