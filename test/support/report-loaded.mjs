// Preloaded (--import) by a test into a CLI process: at exit, prints which of the heavy
// client libraries (CommonJS, so in require.cache once loaded) the process loaded.
import { createRequire } from "node:module";
const require = createRequire(import.meta.url);
process.on("exit", () => {
  const heavy = Object.keys(require.cache).filter((f) =>
    /node_modules\/(@google-cloud\/(pubsub|firestore)|@sendgrid\/mail|stripe)\//.test(f),
  );
  const pkgs = [...new Set(heavy.map((f) => f.match(/node_modules\/((?:@[^/]+\/)?[^/]+)/)[1]))];
  process.stderr.write(`LOADED ${JSON.stringify(pkgs)}\n`);
});
