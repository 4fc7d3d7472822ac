/**
 * Grants: least-privilege permissions a module gives to another module's IAM role, in the spirit of aws-cdk's
 * `bucket.grantRead(role)`.
 *
 * A grant is one inline policy on the role (`aws_iam_role_policy`) whose document is a typed
 * `data.aws_iam_policy_document` (never a hand-written JSON string). Both get a readable address made of the role's
 * address and the grant's name: `storage.grantReadData(role)` on `aws_iam_role.compute_instance` creates
 * `data.aws_iam_policy_document.compute_instance_read_data` and `aws_iam_role_policy.compute_instance_read_data`.
 *
 * Why inline policies rather than managed ones (`aws_iam_policy` + attachment): a grant belongs to exactly one role
 * and must live and die with it. Inline policies are deleted with the role, leave no orphan managed policy or version
 * history behind, do not count against the 10-20 managed policies a role may have attached, and are one resource
 * instead of two. Their limit (10,240 characters of inline policy per role) is far above what these grants use.
 */
import { DataAwsIamPolicyDocument, type DataAwsIamPolicyDocumentStatement } from "@cdktf/provider-aws/lib/data-aws-iam-policy-document";
import { IamRole } from "@cdktf/provider-aws/lib/iam-role";
import { IamRolePolicy } from "@cdktf/provider-aws/lib/iam-role-policy";
import { Construct } from "constructs";
import { AwsContext } from "./aws-context";
import { GtiError } from "./errors";
import { address } from "./naming";

/** KMS actions needed to read objects encrypted with SSE-KMS. */
export const KMS_DECRYPT_ACTIONS = ["kms:Decrypt"] as const;

/**
 * KMS actions needed to write objects with SSE-KMS: a data key for each object, and Decrypt for multipart uploads
 * (S3 decrypts the data key to assemble the parts).
 */
export const KMS_ENCRYPT_ACTIONS = ["kms:GenerateDataKey", "kms:Decrypt"] as const;

/** A grant: the policy document and the inline role policy carrying it. */
export interface Grant {
  /** The role the permissions were given to. */
  readonly role: IamRole;
  /** The grant's name, e.g. `read_data` (also the last part of its addresses). */
  readonly name: string;
  /** The typed policy document. */
  readonly policyDocument: DataAwsIamPolicyDocument;
  /** The inline policy on the role. */
  readonly policy: IamRolePolicy;
}

/** Grants made so far, per role and grant name: granting twice returns the first grant. */
const grants = new WeakMap<IamRole, Map<string, Grant>>();

/**
 * Attaches `statements` to `role` as one inline policy named after the grant.
 *
 * @param grantor the construct giving the permissions (the policy's construct scope)
 * @param role the role receiving them; must not use `count` (grant to an always-present role and count the instance)
 * @param name the grant's name in snake_case, e.g. `read_data`; the inline policy is named `read-data`
 * @param statements the statements, each scoped to exact resources
 * @returns the grant; the same object when this role already received this grant
 * @throws GtiError when the role is counted, or the name is not snake_case
 */
export function grantToRole(
  grantor: Construct,
  role: IamRole,
  name: string,
  statements: readonly DataAwsIamPolicyDocumentStatement[],
): Grant {
  const existing = grants.get(role)?.get(name);
  if (existing) return existing;
  if (role.count !== undefined) {
    throw new GtiError(
      `Cannot grant "${name}" to ${role.node.path}: the role uses count, and a grant references it without an index. ` +
        "Fix: create the role unconditionally (roles cost nothing) and put the count on the instance or its profile.",
    );
  }
  const roleAddress = roleAddressOf(role);
  const scope = new Construct(grantor, `Grant_${roleAddress}_${name}`);
  const policyDocument = address(
    new DataAwsIamPolicyDocument(scope, "PolicyDocument", { statement: [...statements] }),
    roleAddress,
    name,
  );
  const policy = address(
    new IamRolePolicy(scope, "Policy", {
      name: name.replace(/_/g, "-"),
      role: role.name,
      policy: policyDocument.json,
    }),
    roleAddress,
    name,
  );
  const grant: Grant = { role, name, policyDocument, policy };
  let byName = grants.get(role);
  if (!byName) {
    byName = new Map();
    grants.set(role, byName);
  }
  byName.set(name, grant);
  return grant;
}

/** The role's Terraform name (`compute_instance` for `aws_iam_role.compute_instance`), as an address part. */
function roleAddressOf(role: IamRole): string {
  const id = role.friendlyUniqueId.toLowerCase().replace(/[^a-z0-9_]/g, "_");
  return /^[a-z]/.test(id) ? id : `role_${id}`;
}

/** A role a service assumes: its trust policy document and the role (see {@link serviceRole}). */
export interface ServiceRoleProps {
  /** The service principal's first label, e.g. `lambda` or `ec2` (the partition's DNS suffix is appended). */
  readonly service: string;
  /** The trust statement's sid, e.g. `LambdaAssumesTheGuardRole`. */
  readonly sid: string;
  /** The role's name. */
  readonly name: string;
  /** The role's description. */
  readonly description: string;
  /** Address parts of the trust document, e.g. `["safety", "guard_trust"]`. */
  readonly trustAddress: readonly string[];
  /** Address parts of the role, e.g. `["safety", "guard"]`. */
  readonly roleAddress: readonly string[];
}

/**
 * A role only an AWS service may assume (`sts:AssumeRole` for `<service>.<dns suffix>`): the one definition of a
 * service trust policy. Creates `<id>Trust` (the document) and `<id>Role` under `scope`.
 */
export function serviceRole(scope: Construct, id: string, props: ServiceRoleProps): IamRole {
  const trust = address(
    new DataAwsIamPolicyDocument(scope, `${id}Trust`, {
      statement: [
        {
          sid: props.sid,
          effect: "Allow",
          actions: ["sts:AssumeRole"],
          principals: [{ type: "Service", identifiers: [`${props.service}.${AwsContext.of(scope).dnsSuffix}`] }],
        },
      ],
    }),
    ...props.trustAddress,
  );
  return address(
    new IamRole(scope, `${id}Role`, { name: props.name, description: props.description, assumeRolePolicy: trust.json }),
    ...props.roleAddress,
  );
}
