// Stryker's mocha runner (10.0) requires mocha's CLI helpers by extensionless paths
// (`mocha/lib/cli/run-helpers`); mocha 12 ships them as `.cjs`. This resolve hook,
// loaded only by `npm run mutate`, retries such a path with `.cjs`.
import { registerHooks } from "node:module";

registerHooks({
  resolve(specifier, context, nextResolve) {
    try {
      return nextResolve(specifier, context);
    } catch (err) {
      if (/[\\/]mocha[\\/]lib[\\/]cli[\\/][\w-]+$/.test(specifier))
        return nextResolve(`${specifier}.cjs`, context);
      throw err;
    }
  },
});
