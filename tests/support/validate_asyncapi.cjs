// Validate an AsyncAPI document with the AsyncAPI project's own parser (@asyncapi/parser, pinned,
// installed under .tools/ by deploy/local/install-tools.sh). Usage: node validate_asyncapi.cjs FILE
// Prints {"errors": [...], "warnings": [...], "channels": N, "messages": N}; exits 1 on any error.
const fs = require("fs");
const { Parser } = require("@asyncapi/parser");

async function main() {
  const text = fs.readFileSync(process.argv[2], "utf8");
  const parser = new Parser();
  const { document, diagnostics } = await parser.parse(text);
  const describe = (d) => ({ code: d.code, message: d.message, path: (d.path || []).join("/") });
  const errors = diagnostics.filter((d) => d.severity === 0).map(describe);
  const warnings = diagnostics.filter((d) => d.severity === 1).map(describe);
  const result = { errors, warnings, channels: 0, messages: 0, addresses: [] };
  if (document) {
    result.channels = document.channels().length;
    result.messages = document.allMessages().length;
    result.addresses = document.channels().all().map((c) => c.address());
  }
  process.stdout.write(JSON.stringify(result));
  process.exit(errors.length || !document ? 1 : 0);
}

main().catch((err) => { console.error(err); process.exit(2); });
