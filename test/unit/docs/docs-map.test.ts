import { expect } from "chai";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import type { Command } from "commander";
import { buildProgram } from "../../../services/cli/program.js";
import { RECEIVER_ENV_KEYS } from "../../../services/receiver/config.js";
import { FULFILLER_ENV_KEYS } from "../../../services/fulfiller/config.js";
import { CLI_ENV_KEYS } from "../../../services/cli/config.js";
import { DOCTOR_ENV_KEYS } from "../../../services/cli/commands/doctor/config.js";

/** The documents a reader follows: the README, the contributor's page, docs/, Terraform's. */
const DOCS = [
  "README.md",
  "CONTRIBUTING.md",
  "terraform/README.md",
  ...readdirSync("docs")
    .filter((f) => f.endsWith(".md"))
    .map((f) => `docs/${f}`),
];
const text = (file: string) => readFileSync(file, "utf8");

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens. */
function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, "")
    .replace(/\s/g, "-");
}

function anchors(file: string): Set<string> {
  const body = text(file).replace(/```[\s\S]*?```/g, "");
  return new Set([...body.matchAll(/^#{1,6} (.+)$/gm)].map((m) => slug(m[1]!)));
}

/** Every `[text](target)` of a Markdown file, outside code blocks, that is not a web address. */
function localLinks(file: string): { target: string; anchor: string | null }[] {
  const body = text(file).replace(/```[\s\S]*?```/g, "");
  return [...body.matchAll(/\]\(([^)\s]+)\)/g)]
    .map((m) => m[1]!)
    .filter((href) => !/^[a-z]+:/i.test(href))
    .map((href) => {
      const [file_, anchor] = href.split("#");
      return { target: file_ ?? "", anchor: anchor ?? null };
    });
}

/** The words after every `npm run cli --` in a text, up to the end of its code span or line. */
function cliInvocations(body: string): string[][] {
  return [...body.matchAll(/npm run cli -- ([^`\n"]*)/g)].map((m) =>
    m[1]!
      .replace(/[[\]()|,;]/g, " ")
      .split(/\s+/)
      .filter(Boolean),
  );
}

function optionsOf(command: Command): string[] {
  return command.options.flatMap((o) => [o.long ?? "", o.short ?? ""]).filter(Boolean);
}

describe("unit: the docs are a map that leads somewhere", () => {
  it("when the README is read, then it is a map of at most 250 lines", () => {
    expect(text("README.md").split("\n").length).to.be.at.most(250);
  });

  it("when a document links to another file or a heading, then that file and heading exist", () => {
    const broken: string[] = [];
    for (const file of DOCS) {
      for (const { target, anchor } of localLinks(file)) {
        const resolved = target ? path.join(path.dirname(file), target) : file;
        if (!existsSync(resolved)) broken.push(`${file}: ${target} does not exist`);
        else if (anchor && resolved.endsWith(".md") && !anchors(resolved).has(anchor))
          broken.push(`${file}: ${resolved} has no heading #${anchor}`);
      }
    }
    expect(broken).to.deep.equal([]);
  });

  it("when a document names `npm run X`, then package.json has the script X", () => {
    const scripts = Object.keys((JSON.parse(text("package.json")) as { scripts: object }).scripts);
    const unknown: string[] = [];
    for (const file of DOCS)
      for (const m of text(file).matchAll(/npm run ([a-z][\w:-]*)/g))
        if (!scripts.includes(m[1]!)) unknown.push(`${file}: npm run ${m[1]}`);
    expect(unknown).to.deep.equal([]);
    expect(scripts).to.include.members(["test:one", "bench", "cli"]);
  });

  it("when a document or an alert names `npm run cli -- …`, then the command, its subcommand and its options exist", () => {
    const program = buildProgram({});
    const global = ["--local", "--help", "-h"];
    const wrong: string[] = [];
    const sources = [...DOCS, "terraform/monitoring.tf"];
    let checked = 0;
    for (const file of sources) {
      for (const words of cliInvocations(text(file))) {
        const [name, ...rest] = words;
        if (!name || /^[A-Z]/.test(name)) continue; // a placeholder: COMMAND
        const command = program.commands.find((c) => c.name() === name);
        if (!command) {
          wrong.push(`${file}: no command ${name}`);
          continue;
        }
        const chain = [command];
        const sub = command.commands.find((c) => c.name() === rest[0]);
        if (sub) chain.push(sub);
        else if (command.commands.length && rest[0] && !rest[0].startsWith("-"))
          wrong.push(`${file}: no command ${name} ${rest[0]}`);
        const known = [...global, ...chain.flatMap(optionsOf)];
        for (const word of rest.filter((w) => w.startsWith("-") && w !== "--" && !/^-\d/.test(w))) {
          const option = word.split("=")[0]!;
          if (!known.includes(option))
            wrong.push(`${file}: ${chain.map((c) => c.name()).join(" ")} has no ${option}`);
        }
        checked++;
      }
    }
    expect(wrong).to.deep.equal([]);
    expect(checked).to.be.greaterThan(40);
  });

  it("when a process reads a variable, then docs/configuration.md names it", () => {
    const doc = text("docs/configuration.md");
    const local = [...text("services/local/main.ts").matchAll(/process\.env\.(LOCAL_\w+)/g)].map(
      (m) => m[1]!,
    );
    const read = new Set([
      ...RECEIVER_ENV_KEYS,
      ...FULFILLER_ENV_KEYS,
      ...CLI_ENV_KEYS,
      ...DOCTOR_ENV_KEYS,
      ...local,
    ]);
    expect(read.size).to.be.greaterThan(40);
    expect([...read].filter((key) => !doc.includes(`\`${key}\``))).to.deep.equal([]);
  });

  it("when an alert policy fires, then docs/operations.md has a section for it by its name", () => {
    const policies = [
      ...text("terraform/monitoring.tf").matchAll(/resource "google_monitoring_alert_policy" "(\w+)"/g),
    ].map((m) => m[1]!);
    expect(policies.length).to.be.greaterThan(10);
    const headings = [...text("docs/operations.md").matchAll(/^### (.+)$/gm)].map((m) => m[1]!);
    const missing = policies.filter((p) => !headings.some((h) => h.includes(`\`${p}\``)));
    expect(missing).to.deep.equal([]);
    const words = ["ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen"];
    expect(text("terraform/README.md")).to.include(`${words[policies.length - 10]} alert policies`);
  });

  it("when code, Terraform or a script points a reader at a document, then the document exists", () => {
    const files = (dir: string): string[] =>
      readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
        e.isDirectory()
          ? e.name === "fixtures"
            ? []
            : files(path.join(dir, e.name))
          : [path.join(dir, e.name)],
      );
    const pointers = ["services", "terraform", "scripts", "bench"]
      .flatMap(files)
      .filter((f) => /\.(ts|mjs|tf|example|sh|md)$/.test(f))
      .flatMap((f) =>
        [...text(f).matchAll(/\b((?:docs|terraform)\/[\w-]+\.md)\b/g)].map((m) => ({ f, doc: m[1]! })),
      );
    expect(pointers.length).to.be.greaterThan(5);
    expect(pointers.filter((p) => !existsSync(p.doc)).map((p) => `${p.f}: ${p.doc}`)).to.deep.equal([]);
  });

  it("when a reader follows a reference, then it is to a file in this repository, not to a design document it lacks", () => {
    for (const file of DOCS) expect(text(file), file).to.not.match(/DESIGN\.md|DESIGN section 5a/);
  });
});
