/**
 * A fake EC2 instance metadata service (IMDSv2) on 127.0.0.1, random port, for the on-instance runtime tests.
 *
 * The token flow is enforced like the real one: `PUT /latest/api/token` with `X-aws-ec2-metadata-token-ttl-seconds`
 * (1..21600) returns a token that expires after that TTL; every GET under /latest/ without a valid, unexpired
 * `X-aws-ec2-metadata-token` gets 401. Unknown paths get 404 (how IMDS says "nothing pending"). Values can be set
 * and removed mid-test (spot notices, rebalance recommendations, an auto-scaling group's target lifecycle state).
 * `serveFile` adds token-free downloads (e.g. a fake CloudWatch agent package) on the same server.
 */
import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { createRequire } from "node:module";
import { join } from "node:path";

/** stubs/fake-aws.cjs: the `aws` stub's EC2 Auto Scaling and EC2 calls on a fleet's world file. */
const { fakeAws } = createRequire(join(__dirname, "fake-imds.ts"))("./stubs/fake-aws.cjs") as {
  fakeAws: (argv: string[], worldFile: string) => { code: number; stdout: string; stderr: string };
};

/** Where the `aws` stub's fleet calls go (see FakeImds.aws). */
export const AWS_PATH = "/gti-test/aws";

export interface FakeImdsOptions {
  instanceId?: string;
  instanceType?: string;
  /** `instance-life-cycle`: "spot" or "on-demand". */
  lifecycle?: "spot" | "on-demand";
  region?: string;
  /** Instance tags visible under meta-data/tags/instance/ (instance metadata tags enabled). */
  tags?: Record<string, string>;
}

export interface ImdsRequest {
  method: string;
  path: string;
  status: number;
  at: number;
}

export class FakeImds {
  /** Base URL, e.g. http://127.0.0.1:41234 (what GTI_IMDS_ENDPOINT gets). */
  endpoint = "";
  readonly requests: ImdsRequest[] = [];
  tokensIssued = 0;
  private readonly tokens = new Map<string, number>();
  private readonly values = new Map<string, string>();
  private readonly files = new Map<string, Buffer>();
  private readonly server: Server;
  private readonly faults: { mode: "401" | "slow"; untilMs: number; delayMs: number }[] = [];

  private constructor(options: FakeImdsOptions) {
    this.set("meta-data/instance-id", options.instanceId ?? "i-0123456789abcdef0");
    this.set("meta-data/instance-type", options.instanceType ?? "g5.xlarge");
    this.set("meta-data/instance-life-cycle", options.lifecycle ?? "spot");
    this.set("meta-data/placement/region", options.region ?? "us-east-1");
    for (const [key, value] of Object.entries(options.tags ?? {})) this.set(`meta-data/tags/instance/${key}`, value);
    this.server = createServer((req, res) => this.handle(req, res));
  }

  static async start(options: FakeImdsOptions = {}): Promise<FakeImds> {
    const imds = new FakeImds(options);
    await new Promise<void>((resolve) => imds.server.listen(0, "127.0.0.1", resolve));
    imds.endpoint = `http://127.0.0.1:${(imds.server.address() as AddressInfo).port}`;
    return imds;
  }

  /** Sets (or with `undefined` removes) the value at a path under /latest/, e.g. "meta-data/instance-id". */
  set(path: string, value: string | undefined): void {
    if (value === undefined) this.values.delete(path);
    else this.values.set(path, value);
  }

  /** Posts a spot interruption notice (what AWS serves two minutes before it reclaims the instance). */
  spotNotice(action: "terminate" | "stop" | "hibernate" = "terminate", inSeconds = 120): void {
    const time = new Date(Date.now() + inSeconds * 1000).toISOString().replace(/\.\d+Z$/, "Z");
    this.set("meta-data/spot/instance-action", JSON.stringify({ action, time }));
  }

  /** Posts an EC2 instance rebalance recommendation. */
  rebalance(noticeTime = new Date().toISOString().replace(/\.\d+Z$/, "Z")): void {
    this.set("meta-data/events/recommendations/rebalance", JSON.stringify({ noticeTime }));
  }

  /**
   * `meta-data/autoscaling/target-lifecycle-state` of an auto-scaling group member: "InService", "Terminated" (the
   * group is terminating it: a termination lifecycle hook holds it in Terminating:Wait), ...; `undefined`: not a member.
   */
  targetLifecycleState(state: string | undefined): void {
    this.set("meta-data/autoscaling/target-lifecycle-state", state);
  }

  /** Serves a token-free file at `path` (e.g. "/downloads/agent.deb"). */
  serveFile(path: string, body: string | Buffer): void {
    this.files.set(path, Buffer.from(body));
  }

  /** Invalidates every token issued so far (as if they had expired). */
  revokeTokens(): void {
    this.tokens.clear();
  }

  /**
   * Until `untilMs` (epoch ms) the service misbehaves: "401" refuses every GET under /latest/ (valid token or not), "slow"
   * answers everything `delayMs` late (past the client's timeout: the request fails). Faults add up.
   */
  fault(mode: "401" | "slow", untilMs: number, delayMs = 0): void {
    this.faults.push({ mode, untilMs, delayMs });
  }

  /** GETs that were refused for a missing or invalid token. */
  get rejected(): ImdsRequest[] {
    return this.requests.filter((r) => r.status === 401);
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    if (req.method === "POST" && req.url === AWS_PATH) return this.aws(req, res);
    const refused = () => this.faults.some((f) => f.mode === "401" && Date.now() < f.untilMs);
    const slow = this.faults.find((f) => f.mode === "slow" && Date.now() < f.untilMs);
    if (slow) {
      setTimeout(() => this.answer(req, res, refused()), slow.delayMs);
      return;
    }
    this.answer(req, res, refused());
  }

  /**
   * Not IMDS: the `aws` stub's Auto Scaling / EC2 calls (stubs/fake-aws.cjs), served here so that a call costs a curl,
   * not a node start; one at a time (this process), so the world file needs no lock. Never counted in `requests` nor
   * hit by `fault`. Body: {"world": file, "args": [...]}; answer: the CLI's stdout (200) or its stderr with status 200
   * + its exit code.
   */
  private aws(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const { world, args } = JSON.parse(Buffer.concat(chunks).toString("utf8")) as { world: string; args: string[] };
      const result = fakeAws(args, world);
      res.writeHead(200 + result.code, { "content-type": "text/plain" });
      res.end(result.code === 0 ? result.stdout : result.stderr);
    });
  }

  private answer(req: IncomingMessage, res: ServerResponse, refuse: boolean): void {
    const path = (req.url ?? "/").split("?")[0] ?? "/";
    const reply = (status: number, body = ""): void => {
      this.requests.push({ method: req.method ?? "", path, status, at: Date.now() });
      res.writeHead(status, { "content-type": "text/plain" });
      res.end(body);
    };
    const file = this.files.get(path);
    if (req.method === "GET" && file) return reply(200, file.toString("latin1"));
    if (path === "/latest/api/token") {
      if (req.method !== "PUT") return reply(405);
      const ttl = Number(req.headers["x-aws-ec2-metadata-token-ttl-seconds"]);
      if (!Number.isInteger(ttl) || ttl < 1 || ttl > 21600) return reply(400);
      const token = randomBytes(24).toString("base64url");
      this.tokens.set(token, Date.now() + ttl * 1000);
      this.tokensIssued++;
      return reply(200, token);
    }
    if (req.method !== "GET" || !path.startsWith("/latest/")) return reply(405);
    if (refuse) return reply(401);
    const token = req.headers["x-aws-ec2-metadata-token"];
    const expiry = typeof token === "string" ? this.tokens.get(token) : undefined;
    if (expiry === undefined || expiry < Date.now()) return reply(401);
    const value = this.values.get(path.slice("/latest/".length));
    return value === undefined ? reply(404, "Not Found") : reply(200, value);
  }
}
