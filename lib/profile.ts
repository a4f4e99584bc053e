import { z } from "zod";
import { CONTAINER_CODEX_DIR, CONTAINER_TOKEN_FILE, TOKEN_EXPORT } from "./container";
import { checkDockerArgs, Layout } from "./security";

/**
 * What GitHub Flows (@teqfw/github-flows 0.7.0) requires of a merged profile before it launches a
 * run (shared/reference/github-flows-profile-contract.md). Unknown fields pass: the consumer ignores them.
 */
const triggerValue = z.union([z.string(), z.number(), z.boolean(), z.array(z.union([z.string(), z.number(), z.boolean()]))]);
const sourcePath = z.string().regex(/^(event|host|workspace)\./, "a source path starts with 'event.', 'host.' or 'workspace.'");
const scalar = z.union([z.string(), z.number(), z.boolean(), z.null()]);

export const profileContract = z.object({
    trigger: z
        .object({
            // Key order is the document's: the parsed profile keeps the schema's order.
            repository: triggerValue.refine(
                (v) => (Array.isArray(v) ? v : [v]).every((r) => typeof r === "string" && /^[^/\s]+\/[^/\s]+$/.test(r)),
                "repository must be 'owner/name'",
            ),
            event: triggerValue,
            action: triggerValue.optional(),
            actorLogin: triggerValue.optional(),
        })
        .catchall(triggerValue),
    execution: z.object({
        handler: z.object({
            type: z.enum(["agent", "shell"]),
            command: z.array(z.string().min(1)).min(1),
            args: z.array(z.string()),
            promptRef: z.string().min(1),
            promptVariables: z.union([
                z.record(z.string(), sourcePath),
                // Strict: otherwise a flat map with bad paths would pass as this form with its keys stripped.
                z.strictObject({
                    required: z.record(z.string(), sourcePath).optional(),
                    optional: z.record(z.string(), z.object({ path: sourcePath, default: scalar })).optional(),
                }),
            ]),
        }),
        runtime: z.object({
            type: z.literal("docker").optional(),
            image: z.string().min(1),
            setupScript: z.string(),
            timeoutSec: z.number().int().positive(),
            env: z.record(z.string(), z.string()),
            dockerArgs: z.array(z.string().min(1)).optional(),
        }),
    }),
});

export type Profile = z.infer<typeof profileContract>;

export interface ProfileInput extends Layout {
    repository: string;
    image: string;
    githubHost: string;
    profile: {
        event: string;
        action: string;
        promptVariables: Record<string, string>;
        agentCommand: string;
        setupScript: string;
        timeoutSec: number;
        env: Record<string, string>;
        dockerArgs: string[];
    };
}


/** Name GitHub Flows resolves `promptRef` against, in the directory of the installed profile. */
export const PROMPT_REF = "prompt.md";

/**
 * Renders the setup document's profile for one repository. The command reads GH_TOKEN_FILE and
 * exports GH_TOKEN and GITHUB_TOKEN before starting Codex, because the mounts alone do not set them.
 */
export function renderProfile(p: ProfileInput): Profile {
    const s = p.profile;
    const env: Record<string, string> = { ...s.env, GH_TOKEN_FILE: CONTAINER_TOKEN_FILE };
    if (p.githubHost !== "github.com") env.GH_HOST = p.githubHost;
    const profile: Profile = {
        trigger: { repository: p.repository, event: s.event, action: s.action },
        execution: {
            handler: {
                type: "agent",
                command: ["bash", "-lc"],
                args: [`${TOKEN_EXPORT}; exec ${s.agentCommand}`],
                promptRef: PROMPT_REF,
                promptVariables: { ...s.promptVariables },
            },
            runtime: {
                image: p.image,
                setupScript: s.setupScript,
                timeoutSec: s.timeoutSec,
                env,
                dockerArgs: [
                    "--mount",
                    `type=bind,src=${p.codexDir},dst=${CONTAINER_CODEX_DIR}`,
                    "--mount",
                    `type=bind,src=${p.tokenFile},dst=${CONTAINER_TOKEN_FILE},readonly`,
                    ...s.dockerArgs,
                ],
            },
        },
    };
    return validateProfile(profile, p);
}

/** Accepts a profile only if GitHub Flows would run it and it keeps the document's security rules. */
export function validateProfile(profile: unknown, layout: Layout): Profile {
    const r = profileContract.safeParse(profile);
    if (!r.success) {
        throw new Error(`rendered profile is not one GitHub Flows accepts: ${r.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`);
    }
    const violations = checkDockerArgs(r.data.execution.runtime.dockerArgs ?? [], layout);
    if (violations.length) throw new Error(`rendered profile breaks the security rules: ${violations.join("; ")}`);
    return r.data;
}

/** The directory that holds every repository's profiles: `<workspace>/cfg/repos`. */
export function profilesRoot(workspaceDir: string): string {
    return `${workspaceDir}/cfg/repos`;
}

/** The profile's directory relative to `profilesRoot`: `<owner>/<repo>/<event>-<action>`. */
export function profileSubdir(repository: string, event: string, action: string): string {
    return `${repository}/${event}-${action}`;
}

/** Where GitHub Flows finds the profile: `<workspace>/cfg/repos/<owner>/<repo>/<event>-<action>/`. */
export function profileDir(workspaceDir: string, repository: string, event: string, action: string): string {
    return `${profilesRoot(workspaceDir)}/${profileSubdir(repository, event, action)}`;
}

/** Stable JSON (two-space indent, trailing newline): the same config always gives the same bytes. */
export function profileJson(profile: Profile): string {
    return `${JSON.stringify(profile, null, 2)}\n`;
}
