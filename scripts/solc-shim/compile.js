// Standard-JSON front end over npm's solc (solcjs), used by ./solc.
//
// Reads the compiler input from the file named in argv[2] and writes the output JSON to the file
// named in argv[3]. Files instead of pipes because solcjs's own CLI breaks on forge's pipes: it reads
// stdin synchronously (EAGAIN on a non-blocking pipe) and calls process.exit, which truncates piped
// stdout at 64 KiB. Remaining argv: solc's --base-path / --include-path / --allow-paths, used to
// resolve imports that forge did not inline (it normally sends every source with its content).
"use strict";

const fs = require("fs");
const path = require("path");
const solc = require("solc");

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

const [inputPath, outputPath, ...rest] = process.argv.slice(2);
if (rest[0] === "--version-only") {
  fs.writeFileSync(outputPath, solc.version());
} else {
  const input = fs.readFileSync(inputPath, "utf8");
  const output = solc.compile(input, { import: importCallback(parseRoots(rest)) });
  fs.writeFileSync(outputPath, output);
}
