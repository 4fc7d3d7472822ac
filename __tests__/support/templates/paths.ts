/** Where the templates live (paths of the files the template tests read and run). */
import { readFileSync } from "node:fs";
import { join } from "node:path";

export const TEMPLATES_DIR = join(__dirname, "..", "..", "..", "templates");
export const WORKFLOW_FILE = join(TEMPLATES_DIR, "github-actions", "build-push-ecr.yml");
export const DOCKERFILE = join(TEMPLATES_DIR, "Dockerfile.gpu");
export const DOCKERIGNORE = join(TEMPLATES_DIR, "Dockerfile.gpu.dockerignore");
export const ENTRYPOINT = join(TEMPLATES_DIR, "entrypoint.sh");
export const TRAIN_EXAMPLE = join(TEMPLATES_DIR, "train_example.py");

export const readTemplate = (file: string): string => readFileSync(file, "utf8");
