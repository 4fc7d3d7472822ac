/**
 * Preload for the main.ts policy test (`tsx --import <this file> main.ts`): just before the app synthesizes, adds a
 * bucket breaking GTI-S3-006 (force_destroy) to the `training` stack, so the real main.ts, env files and stacks run
 * and the failure path is the one users see.
 */
import { S3Bucket } from "@cdktf/provider-aws/lib/s3-bucket";
import { App, TerraformStack } from "cdktf";
import { SecureBucket } from "../../../src/secure-bucket";

const synth = App.prototype.synth;
App.prototype.synth = function synthWithViolation(this: App): void {
  const training = this.node.findAll().find((c): c is TerraformStack => c instanceof TerraformStack && c.node.id === "training");
  if (!training) throw new Error("inject-violation: no training stack");
  const scratch = new SecureBucket(training, "InjectedScratch", { bucketName: "gti-injected-scratch", address: ["injected", "scratch"] });
  scratch.bucket.addOverride("force_destroy", true);
  new S3Bucket(training, "InjectedBare", { bucket: "gti-injected-bare" }).overrideLogicalId("injected_bare");
  synth.call(this);
};
