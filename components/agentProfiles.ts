import * as pulumi from "@pulumi/pulumi";
import { profileDir, profileJson, ProfileInput, profilesRoot, profileSubdir, PROMPT_REF, renderProfile } from "../lib/profile";
import type { SshTarget } from "../lib/ssh";
import { RemoteFileSet } from "../providers";

export interface AgentProfilesArgs {
    connection: pulumi.Input<SshTarget>;
    /** Everything but the repository (paths follow the host's runtime user); one profile is rendered per repository. */
    base: pulumi.Input<Omit<ProfileInput, "repository">>;
    repositories: readonly string[];
    /** Prompt text installed beside each profile as `prompt.md`. */
    prompt: string;
    /** Write the files where GitHub Flows reads them; off renders the outputs only. */
    install: boolean;
    /** The home or listed root the workspace lies in: root hands the runtime user no directory above it. */
    within?: pulumi.Input<string>;
}

/** One GitHub Flows profile per repository, rendered, validated, and installed under `<workspace>/cfg/`. */
export class AgentProfiles extends pulumi.ComponentResource {
    /** Rendered profile JSON per repository (`owner/name` -> JSON text). */
    public readonly profiles: pulumi.Output<Record<string, string>>;
    /** Host paths of the installed profile files. */
    public readonly paths: pulumi.Output<string[]>;

    constructor(name: string, args: AgentProfilesArgs, opts?: pulumi.ComponentResourceOptions) {
        super("github-flows-host:index:AgentProfiles", name, {}, opts);
        const base = pulumi.output(args.base) as pulumi.Output<Omit<ProfileInput, "repository">>;
        const rendered = base.apply((b) => Object.fromEntries(args.repositories.map((r) => [r, profileJson(renderProfile({ ...b, repository: r }))])));
        if (args.install && args.repositories.length) {
            // Every profile and prompt of the host as one resource: one reading of the host per diff, one write script,
            // one state entry (300 repositories were 600 resources, each diffed and checkpointed on its own).
            const files = pulumi.all([base, rendered]).apply(([b, r]) => {
                const out: Record<string, string> = {};
                for (const repo of args.repositories) {
                    const dir = profileSubdir(repo, b.profile.event, b.profile.action);
                    out[`${dir}/profile.json`] = r[repo];
                    out[`${dir}/${PROMPT_REF}`] = args.prompt;
                }
                return out;
            });
            // The files hold no credential: 0644 so GitHub Flows (the runtime user) and an operator can read them.
            const user = base.runtimeUser;
            const path = base.apply((b) => profilesRoot(b.workspaceDir));
            new RemoteFileSet(`${name}-profiles`, { connection: args.connection, path, owner: user, runtimeUser: user, mode: "644", within: args.within, files }, { parent: this });
        }
        this.profiles = rendered;
        this.paths = args.install ? base.apply((b) => args.repositories.map((r) => `${profileDir(b.workspaceDir, r, b.profile.event, b.profile.action)}/profile.json`)) : pulumi.output([]);
        // Not the profiles: the stack output holds them once (each copy in state is rewritten after every step).
        this.registerOutputs({});
    }
}
