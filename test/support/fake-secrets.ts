import type { SecretAccessor } from "../../services/common/secrets.js";

/** A Secret Manager stand-in: versions by full name; an unknown one fails as NOT_FOUND. */
export class FakeSecrets implements SecretAccessor {
  readonly names: string[] = [];
  constructor(private readonly values: Record<string, string>) {}
  accessSecretVersion(request: { name: string }) {
    this.names.push(request.name);
    const value = this.values[request.name];
    if (value === undefined) return Promise.reject(new Error("5 NOT_FOUND: secret not found"));
    return Promise.resolve([{ payload: { data: Buffer.from(value) } }] as const);
  }
}
