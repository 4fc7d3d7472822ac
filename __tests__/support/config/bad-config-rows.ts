/** The bad input table's rows (__tests__/config/bad-config*.test.ts): env files and what each message must say. */

/** What a row's message must say: the problem's head line (`file:line:col  field = value: rule`) and its fix. */
export interface Expected {
  /** The file the problem is attributed to, e.g. `envs/_shared.ts`. */
  readonly file: string;
  /** The location and/or field part of the head line, e.g. /:2:15/ or /compute\.useSpot = "yes"/. */
  readonly where: RegExp;
  readonly rule: RegExp;
  readonly fix: RegExp;
}

export interface Row {
  readonly id: string;
  readonly description: string;
  /** Files of the envs folder this row adds (name -> content). */
  readonly files: Readonly<Record<string, string>>;
  readonly expected: Expected;
}

/** A valid env (importing the folder's `_shared.ts`) with extra top-level fields written as TypeScript. */
export function env(name: string, fields = ""): string {
  return `import { shared } from "./_shared";\n\nexport default {\n  ...shared,\n  name: "${name}",\n  region: "us-east-1",\n${fields}};\n`;
}

export const SHARED =
  'export const shared = {\n  project: "gpu-training-infra",\n  repository: "github.com/acme-ml/gpu-training-infra",\n' +
  '  state: { bucket: "acme-ml-gti-tfstate", region: "us-east-1" },\n};\n';

/** A shared file for the rows about shared files: `_<name>.ts` exporting `shared` with the given state. */
export function sharedWith(state: string, extra = ""): string {
  return `export const shared = {\n  project: "gpu-training-infra",\n  repository: "github.com/acme-ml/gpu-training-infra",\n${extra}  state: ${state},\n};\n`;
}

export function envFrom(sharedFile: string, name: string): string {
  return `import { shared } from "./${sharedFile}";\n\nexport default { ...shared, name: "${name}", region: "us-east-1" };\n`;
}

export const ERROR_ROWS: readonly Row[] = [
  {
    id: "r01",
    description: "a syntax error (double comma)",
    files: { "r01.ts": 'export default {\n  name: "r01",,\n  region: "us-east-1",\n};\n' },
    expected: { file: "envs/r01.ts", where: /:2:15/, rule: /syntax error: Expected identifier but found ","/, fix: /remove the extra comma/ },
  },
  {
    id: "r02",
    description: "a typo in an identifier (...sharedd)",
    files: { "r02.ts": 'import { shared } from "./_shared";\n\nexport default {\n  ...sharedd,\n  name: "r02",\n};\n' },
    expected: { file: "envs/r02.ts", where: /:4:6/, rule: /sharedd is not defined/, fix: /did you mean shared \(imported from "\.\/_shared"\)/ },
  },
  {
    id: "r03",
    description: "an env file that throws",
    files: { "r03.ts": 'function region(): string {\n  throw new Error("no region configured");\n}\n\nexport default { name: "r03", region: region() };\n' },
    expected: { file: "envs/r03.ts", where: /:2:9/, rule: /loading it threw Error: no region configured/, fix: /fix the code at that line/ },
  },
  {
    id: "r04",
    description: "export default null",
    files: { "r04.ts": "export default null;\n" },
    expected: { file: "envs/r04.ts", where: /:1:1/, rule: /the default export is null, not an environment object/, fix: /export an object: `export default defineEnvironment\(\{ name: "r04"/ },
  },
  {
    id: "r05",
    description: "no default export",
    files: { "r05.ts": 'export const config = { name: "r05" };\n' },
    expected: { file: "envs/r05.ts", where: /envs\/r05\.ts/, rule: /has no default export/, fix: /end it with `export default defineEnvironment\(\{ name: "r05"/ },
  },
  {
    id: "r06",
    description: "an import of a file that does not exist",
    files: { "r06.ts": 'import { shared } from "./_sharde";\n\nexport default { ...shared, name: "r06" };\n' },
    expected: { file: "envs/r06.ts", where: /:1:24/, rule: /imports "\.\/_sharde", which does not exist/, fix: /check the path/ },
  },
  {
    id: "r07",
    description: "a wrong type (a boolean as a string)",
    files: { "r07.ts": env("r07", '  compute: { useSpot: "yes" },\n') },
    expected: { file: "envs/r07.ts", where: /:7:14  compute\.useSpot = "yes"/, rule: /must be a boolean/, fix: /set compute\.useSpot to a boolean/ },
  },
  {
    id: "r08",
    description: "a wrong type (a number as a string)",
    files: { "r08.ts": env("r08", '  compute: { maxRuntimeHours: "12" },\n') },
    expected: { file: "envs/r08.ts", where: /compute\.maxRuntimeHours = "12"/, rule: /whole number of hours from 1 to 168/, fix: /pick a value in 1\.\.168/ },
  },
  {
    id: "r09",
    description: "an out-of-range number",
    files: { "r09.ts": env("r09", "  compute: { rootVolumeSizeGb: 20 },\n") },
    expected: { file: "envs/r09.ts", where: /compute\.rootVolumeSizeGb = 20/, rule: /from 100 to 16384/, fix: /pick a value in 100\.\.16384/ },
  },
  {
    id: "r10",
    description: "an unknown (misspelt) nested key",
    files: { "r10.ts": env("r10", '  compute: { instnaceType: "g5.xlarge" },\n') },
    expected: { file: "envs/r10.ts", where: /compute\.instnaceType = "g5\.xlarge"/, rule: /unknown field/, fix: /did you mean compute\.instanceType\?/ },
  },
  {
    id: "r11",
    description: "an unknown top-level key",
    files: { "r11.ts": env("r11", '  regoin: "eu-west-1",\n') },
    expected: { file: "envs/r11.ts", where: /regoin = "eu-west-1"/, rule: /unknown field/, fix: /did you mean region\?/ },
  },
  {
    id: "r12",
    description: "a name that does not match the file",
    files: { "r12.ts": env("staging") },
    expected: { file: "envs/r12.ts", where: /:5:3  name = "staging"/, rule: /must match its file name/, fix: /set name: "r12", or rename the file to staging\.ts/ },
  },
  {
    id: "r13",
    description: "a duplicate name (another env file's)",
    files: { "r13.ts": env("r09") },
    expected: { file: "envs/r13.ts", where: /name = "r09"/, rule: /must match its file name/, fix: /"r09" is the name of envs\/r09\.ts: two files cannot define one stack/ },
  },
  {
    id: "r14",
    description: "a bad CIDR",
    files: { "r14.ts": env("r14", '  compute: { network: { mode: "dedicated", vpcCidr: "10.0.0.0/33" } },\n') },
    expected: { file: "envs/r14.ts", where: /compute\.network\.vpcCidr = "10\.0\.0\.0\/33"/, rule: /not a valid IPv4 CIDR block/, fix: /address\/prefix/ },
  },
  {
    id: "r15",
    description: "SSH open to the whole internet",
    files: { "r15.ts": env("r15", '  compute: { ssh: { keyPairName: "k", allowedCidrs: ["0.0.0.0/0"] } },\n') },
    expected: { file: "envs/r15.ts", where: /compute\.ssh\.allowedCidrs\[0\] = "0\.0\.0\.0\/0"/, rule: /whole internet is not allowed/, fix: /office or VPN ranges/ },
  },
  {
    id: "r16",
    description: "a bad e-mail",
    files: { "r16.ts": env("r16", '  safety: { alertEmails: ["ops-at-acme"] },\n') },
    expected: { file: "envs/r16.ts", where: /safety\.alertEmails\[0\] = "ops-at-acme"/, rule: /not an e-mail address/, fix: /name@example\.com/ },
  },
  {
    id: "r17",
    description: "a region that does not exist",
    files: { "r17.ts": 'import { shared } from "./_shared";\n\nexport default { ...shared, name: "r17", region: "us-middle-1" };\n' },
    expected: { file: "envs/r17.ts", where: /:3:42  region = "us-middle-1"/, rule: /not a region of the standard aws partition/, fix: /"us-east-1"/ },
  },
  {
    id: "r18",
    description: "an instance type that does not exist (g5.3xlarge)",
    files: { "r18.ts": env("r18", '  compute: { instanceType: "g5.3xlarge" },\n') },
    expected: { file: "envs/r18.ts", where: /compute\.instanceType = "g5\.3xlarge"/, rule: /g5 has no size "3xlarge"/, fix: /"g5\.2xlarge"/ },
  },
  {
    id: "r19",
    description: "a P3 instance type (no longer supported by the DLAMI)",
    files: { "r19.ts": env("r19", '  compute: { instanceType: "p3.2xlarge" },\n') },
    expected: { file: "envs/r19.ts", where: /compute\.instanceType = "p3\.2xlarge"/, rule: /P3 \(V100\) is no longer supported/, fix: /"g5\.xlarge"/ },
  },
  {
    id: "r20",
    description: "a Graviton type in the fleet",
    files: { "r20.ts": env("r20", '  fleet: { enabled: true, instanceTypes: ["g5g.xlarge"] },\n') },
    expected: { file: "envs/r20.ts", where: /fleet\.instanceTypes\[0\] = "g5g\.xlarge"/, rule: /Graviton \(arm64\)/, fix: /src\/gpu-instance-types\.ts/ },
  },
  {
    id: "r21",
    description: "a tag key starting with aws:",
    files: { "r21.ts": env("r21", '  tags: { "aws:team": "ml" },\n') },
    expected: { file: "envs/r21.ts", where: /tags\.aws:team = "ml"/, rule: /"aws:" prefix is reserved for AWS/, fix: /"team"/ },
  },
  {
    id: "r22",
    description: "a tag key with a space",
    files: { "r22.ts": env("r22", '  tags: { "cost center": "ml" },\n') },
    expected: { file: "envs/r22.ts", where: /tags\.cost center = "ml"/, rule: /may hold only letters, digits/, fix: /"cost-center"/ },
  },
  {
    id: "r23",
    description: "more tags than AWS allows",
    files: { "r23.ts": env("r23", `  tags: { ${Array.from({ length: 42 }, (_, i) => `t${i}: "v"`).join(", ")} },\n`) },
    expected: { file: "envs/r23.ts", where: /:7:3  tags = \{/, rule: /42 tags, but AWS allows 50 per resource/, fix: /keep at most 41 tags/ },
  },
  {
    id: "r24",
    description: "a tag the stack sets itself",
    files: { "r24.ts": env("r24", '  tags: { Environment: "prod" },\n') },
    expected: { file: "envs/r24.ts", where: /tags\.Environment = "prod"/, rule: /the stack sets the Environment tag itself/, fix: /remove tags\.Environment/ },
  },
  {
    id: "r25",
    description: "a tag value over 256 characters",
    files: { "r25.ts": env("r25", `  tags: { team: "${"x".repeat(257)}" },\n`) },
    expected: { file: "envs/r25.ts", where: /tags\.team = "xxx/, rule: /a tag value is at most 256 characters \(this one has 257\)/, fix: /shorten the value/ },
  },
  {
    id: "r26",
    description: "the same alert e-mail twice",
    files: { "r26.ts": env("r26", '  safety: { alertEmails: ["ops@acme-ml.io", "OPS@acme-ml.io"] },\n') },
    expected: { file: "envs/r26.ts", where: /safety\.alertEmails\[1\] = "OPS@acme-ml\.io"/, rule: /is listed twice/, fix: /remove the duplicate/ },
  },
  {
    id: "r27",
    description: "more desired fleet instances than the maximum",
    files: { "r27.ts": env("r27", "  fleet: { enabled: true, maxInstances: 2, desiredInstances: 3 },\n") },
    expected: { file: "envs/r27.ts", where: /fleet\.desiredInstances = 3/, rule: /must not exceed fleet\.maxInstances \(2\)/, fix: /lower desiredInstances or raise maxInstances/ },
  },
  {
    id: "r28",
    description: "a negative budget",
    files: { "r28.ts": env("r28", "  safety: { monthlyBudgetUsd: -5 },\n") },
    expected: { file: "envs/r28.ts", where: /safety\.monthlyBudgetUsd = -5/, rule: /budget must be greater than 0/, fix: /monthly amount in USD/ },
  },
  {
    id: "r29",
    description: "a schedule EventBridge refuses",
    files: { "r29.ts": env("r29", '  safety: { guard: { schedule: "every hour" } },\n') },
    expected: { file: "envs/r29.ts", where: /safety\.guard\.schedule = "every hour"/, rule: /not an EventBridge schedule expression/, fix: /"rate\(1 hour\)"/ },
  },
  {
    id: "r30",
    description: "a KMS key in another region",
    files: { "r30.ts": env("r30", '  storage: { kmsKeyArn: "arn:aws:kms:eu-west-1:210987654321:key/1f2e3d4c-5b6a-4978-8695-a4b3c2d1e0f9" },\n') },
    expected: { file: "envs/r30.ts", where: /storage\.kmsKeyArn = "arn:aws:kms:eu-west-1/, rule: /the key is in eu-west-1 but the environment's resources are in us-east-1/, fix: /a key \(or a multi-Region replica key\) in us-east-1/ },
  },
  {
    id: "r31",
    description: "a spot price in words",
    files: { "r31.ts": env("r31", '  compute: { spotMaxPrice: "cheap" },\n') },
    expected: { file: "envs/r31.ts", where: /compute\.spotMaxPrice = "cheap"/, rule: /price in USD per hour/, fix: /"0\.50"/ },
  },
  {
    id: "r33",
    description: "an ECR repository name another env uses in the same region",
    files: {
      "r32.ts": env("r32", '  registry: { repositoryName: "shared-training" },\n  storage: { dataBucketName: "acme-ml-shared-data" },\n'),
      "r33.ts": env("r33", '  registry: { repositoryName: "shared-training" },\n'),
    },
    expected: { file: "envs/r33.ts", where: /registry\.repositoryName = "shared-training"/, rule: /also used by environment "r32" \(envs\/r32\.ts\).*unique per account and region/, fix: /give each environment its own name/ },
  },
  {
    id: "r34",
    description: "a state bucket that differs from the other envs'",
    files: { "r34.ts": env("r34", '  state: { bucket: "another-state-bucket", region: "us-east-1" },\n') },
    expected: { file: "envs/r34.ts", where: /state\.bucket = "another-state-bucket"/, rule: /every environment must use the one state bucket/, fix: /same state settings in every env/ },
  },
  {
    id: "r35",
    description: "an empty state.bucket in a shared file (attributed to it, listed once)",
    files: {
      "_emptybucket.ts": sharedWith('{\n    bucket: "",\n    region: "us-east-1",\n  }'),
      "r35a.ts": envFrom("_emptybucket", "r35a"),
      "r35b.ts": envFrom("_emptybucket", "r35b"),
    },
    expected: { file: "envs/_emptybucket.ts", where: /:5:5  state\.bucket = "" \(envs r35a, r35b\)/, rule: /not a valid S3 bucket name/, fix: /3-63 lowercase letters/ },
  },
  {
    id: "r36",
    description: "a missing state.bucket in a shared file",
    files: { "_nobucket.ts": sharedWith('{ region: "us-east-1" }'), "r36.ts": envFrom("_nobucket", "r36") },
    expected: { file: "envs/_nobucket.ts", where: /:4:3  state\.bucket = \(missing\)/, rule: /is required/, fix: /add state\.bucket to envs\/_nobucket\.ts/ },
  },
  {
    id: "r37",
    description: "a syntax error in a shared file (reported once, there)",
    files: {
      "_broken.ts": 'export const shared = {\n  project: "gpu-training-infra",,\n};\n',
      "r37.ts": envFrom("_broken", "r37"),
    },
    expected: { file: "envs/_broken.ts", where: /:2:33/, rule: /syntax error/, fix: /remove the extra comma/ },
  },
  {
    id: "r38",
    description: "a wrong type in a shared file",
    files: {
      "_badtype.ts": 'export const shared = {\n  project: "gpu-training-infra",\n  repository: 42,\n  state: { bucket: "acme-ml-gti-tfstate", region: "us-east-1" },\n};\n',
      "r38.ts": envFrom("_badtype", "r38"),
    },
    expected: { file: "envs/_badtype.ts", where: /:3:3  repository = 42 \(env r38\)/, rule: /must be a string/, fix: /set repository to a string/ },
  },
  {
    id: "r39",
    description: "a data bucket name another env uses",
    files: { "r39.ts": env("r39", '  storage: { dataBucketName: "acme-ml-shared-data" },\n') },
    expected: { file: "envs/r39.ts", where: /storage\.dataBucketName = "acme-ml-shared-data"/, rule: /also used by environment "r32".*S3 bucket names are global/, fix: /give each environment its own name/ },
  },
  {
    id: "r40",
    description: "a bucket name S3 refuses",
    files: { "r40.ts": env("r40", '  storage: { outputsBucketName: "My_Outputs" },\n') },
    expected: { file: "envs/r40.ts", where: /storage\.outputsBucketName = "My_Outputs"/, rule: /not a valid S3 bucket name: it may contain only lowercase letters/, fix: /3-63 lowercase letters/ },
  },
];
