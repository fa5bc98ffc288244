import { expect } from "chai";
import type { Command } from "commander";
import { buildProgram } from "../../../services/cli/program.js";

/** Every command and group, depth first. */
function all(command: Command): Command[] {
  return [command, ...command.commands.flatMap(all)];
}

describe("unit: every CLI command's --help has an example", () => {
  it("when any command or command group is asked for help, then its text shows at least one `npm run cli --` line", () => {
    const program = buildProgram({});
    for (const command of all(program).slice(1)) {
      let text = "";
      command.configureOutput({ writeOut: (s) => (text += s), writeErr: (s) => (text += s) });
      command.outputHelp();
      expect(text, `${command.parent?.name() ?? ""} ${command.name()} --help`).to.match(/npm run cli -- /);
    }
  });
});
